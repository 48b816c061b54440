"""The emulated token service, driven the way clients drive Entra ID."""

import msal
import pytest
import requests

from o365_pipeline.api.auth import VerifyingSession
from o365_pipeline.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from ..conftest import TENANT_ID


def _post(emulator, path, **form):
    return requests.post(
        f"{emulator.base_url}{path}", data=form, verify=str(emulator.ca_cert_path), timeout=10
    )


def test_msal_itself_acquires_a_token_and_then_answers_from_its_cache(emulator):
    app = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential=DEFAULT_CLIENT_SECRET,
        authority=f"{emulator.base_url}/{TENANT_ID}",
        instance_discovery=False,
        http_client=VerifyingSession(str(emulator.ca_cert_path)),
    )
    first = app.acquire_token_for_client(scopes=["https://manage.office.com/.default"])
    second = app.acquire_token_for_client(scopes=["https://manage.office.com/.default"])
    assert first["token_source"] == "identity_provider"
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]


def test_a_raw_v1_token_request_with_resource_gets_string_typed_numbers(emulator):
    response = _post(
        emulator,
        f"/{TENANT_ID}/oauth2/token",
        grant_type="client_credentials",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        resource="https://manage.office.com",
    )
    body = response.json()
    assert response.status_code == 200
    assert body["resource"] == "https://manage.office.com"
    assert isinstance(body["expires_in"], str) and isinstance(body["expires_on"], str)


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_id": "00000000-1111-2222-3333-444444444444"}, 400, "unauthorized_client", 700016),
        ({"scope": "https://manage.office.com/ActivityFeed.Read"}, 400, "invalid_scope", 1002012),
    ],
)
def test_token_errors_have_entras_shape_and_status(emulator, form, status, error, code):
    fields = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "scope": "https://manage.office.com/.default",
        **form,
    }
    response = _post(emulator, f"/{TENANT_ID}/oauth2/v2.0/token", **fields)
    body = response.json()
    assert response.status_code == status
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert {"trace_id", "correlation_id", "timestamp"} <= body.keys()


def test_an_unknown_tenant_gets_aadsts90002(emulator):
    response = _post(
        emulator,
        "/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
        grant_type="client_credentials",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        scope="https://manage.office.com/.default",
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_api_calls_without_a_token_get_the_aspnet_401(emulator):
    response = requests.get(
        f"{emulator.base_url}/api/v1.0/{TENANT_ID}/activity/feed/subscriptions/list",
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == {"Message": "Authorization has been denied for this request."}
    assert response.headers["WWW-Authenticate"] == "Bearer"
