"""The emulated Entra token service answers msal and raw clients like Entra does."""

import msal
import pytest
import requests

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_emulator_tests.conftest import SCOPE, Api, fetch_token
from o365_pipeline.api.auth import VerifyingSession
from o365_pipeline_tests.fixtures import TENANT_ID


def _msal_app(emulator, secret=DEFAULT_CLIENT_SECRET):
    return msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential=secret,
        authority=f"{emulator.base_url}/{TENANT_ID}",
        instance_discovery=False,
        http_client=VerifyingSession(str(emulator.ca_cert_path)),
    )


def test_msal_obtains_a_token_and_serves_the_second_from_its_cache(emulator):
    app = _msal_app(emulator)
    first = app.acquire_token_for_client(scopes=[SCOPE])
    second = app.acquire_token_for_client(scopes=[SCOPE])
    assert first["token_source"] == "identity_provider"
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]


def test_a_raw_v1_token_request_with_resource_gets_string_typed_numbers(emulator):
    response = requests.post(
        f"{emulator.base_url}/{TENANT_ID}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "resource": "https://manage.office.com",
        },
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 200
    assert body["resource"] == "https://manage.office.com"
    assert all(isinstance(body[key], str) for key in ("expires_in", "expires_on", "not_before"))


def test_a_v1_token_works_on_the_api(emulator):
    token = requests.post(
        f"{emulator.base_url}/{TENANT_ID}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "resource": "https://manage.office.com",
        },
        verify=str(emulator.ca_cert_path),
        timeout=10,
    ).json()["access_token"]
    assert Api(emulator, token=token).call("GET", "subscriptions/list").status_code == 200


def test_the_discovery_document_advertises_https_endpoints_of_the_tenant(emulator):
    document = requests.get(
        f"{emulator.base_url}/{TENANT_ID}/v2.0/.well-known/openid-configuration",
        verify=str(emulator.ca_cert_path),
        timeout=10,
    ).json()
    assert document["token_endpoint"] == f"{emulator.base_url}/{TENANT_ID}/oauth2/v2.0/token"
    assert document["authorization_endpoint"].startswith("https://")
    assert document["issuer"].startswith("https://")


def test_a_wrong_secret_gets_401_invalid_client_aadsts7000215(emulator):
    response = fetch_token(emulator, client_secret="wrong")
    body = response.json()
    assert response.status_code == 401
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215:")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()


@pytest.mark.parametrize(
    ("tenant", "form", "status", "error", "number"),
    [
        ("0b1f0e2d-0000-4000-8000-000000000000", {}, 400, "invalid_request", 90002),
        (TENANT_ID, {"client_id": "11111111-2222-4333-8444-555555555555"}, 400,
         "unauthorized_client", 700016),
        (TENANT_ID, {"scope": "https://manage.office.com/ActivityFeed.Read"}, 400,
         "invalid_scope", 1002012),
    ],
    ids=["unknown-tenant", "unknown-client", "scope-not-default"],
)  # fmt: skip
def test_token_errors_have_entras_code_and_status(emulator, tenant, form, status, error, number):
    response = fetch_token(emulator, tenant=tenant, **form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_codes"] == [number]


def test_msal_reports_a_wrong_secret_without_raising(emulator):
    result = _msal_app(emulator, secret="wrong").acquire_token_for_client(scopes=[SCOPE])
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_an_api_call_without_a_token_is_denied_with_401(emulator):
    response = requests.get(
        f"{emulator.base_url}/api/v1.0/{TENANT_ID}/activity/feed/subscriptions/list",
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == {"Message": "Authorization has been denied for this request."}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_forged_token_is_denied_with_401(emulator):
    assert (
        Api(emulator, token="eyJhbGciOi.bad.token").call("GET", "subscriptions/list").status_code
        == 401
    )


def test_a_token_expires_when_the_emulator_clock_passes_its_lifetime(emulator, api):
    assert api.call("GET", "subscriptions/list").status_code == 200
    emulator.clock.advance(3601)
    response = api.call("GET", "subscriptions/list")
    assert response.status_code == 401
    assert "Message" in response.json()
