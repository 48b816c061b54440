"""Certificate credentials end to end over loopback HTTPS: msal signs the client assertion, the
emulated token endpoint checks it like Entra (key by thumbprint, signature, iss/sub, aud, time)
and refuses with Entra's codes. Key pairs are made at test time; no key file exists on disk.
"""

import argparse
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig
from o365_emulator import command as emulator_command
from o365_emulator.certificates import load_certificates, make_self_signed_certificate
from o365_emulator.server import start_emulator
from o365_emulator_tests.conftest import SCOPE, Api
from o365_pipeline.api.auth import VerifyingSession
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.errors import ADVICE, AuthenticationError
from o365_pipeline.api.settings import ClientCertificate, ClientSecret, ClientSettings
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.fixtures import TENANT_ID

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TENANT_DOMAIN = f"{DEMO_TENANTS[0].name}.onmicrosoft.com"
OTHER_TENANT = DEMO_TENANTS[1].tenant_id


@pytest.fixture(scope="module")
def registered():
    """The app's certificate: (private key PEM, certificate PEM, SHA-1 thumbprint)."""
    return make_self_signed_certificate("o365-pipeline test app")


@pytest.fixture(scope="module")
def unregistered():
    """A second, valid pair that the app registration does not know."""
    return make_self_signed_certificate("someone else")


@pytest.fixture
def cert_emulator(registered):
    """An emulator with the test certificate registered next to the default secret."""
    config = EmulatorConfig(page_size=3, records_per_hour=30, client_certificates=(registered[1],))
    with start_emulator(config) as running:
        yield running


def _client(emulator, credential) -> ManagementApiClient:
    return ManagementApiClient(
        ClientSettings(
            tenant_id=TENANT_ID,
            client_id=DEFAULT_CLIENT_ID,
            credential=credential,
            api_base_url=emulator.base_url,
            login_base_url=emulator.base_url,
            ca_bundle=str(emulator.ca_cert_path),
        )
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _assertion(
    key_pem: str,
    thumbprint: str | None,
    audience: str,
    *,
    issuer: str = DEFAULT_CLIENT_ID,
    lifetime: float = 600,
    issued_offset: float = 0,
    not_before: float | None = None,
    algorithm: str = "RS256",
) -> str:
    """A client assertion as Microsoft's docs describe it (integer times, optional nbf)."""
    now = time.time() + issued_offset
    payload = {
        "aud": audience,
        "iss": issuer,
        "sub": issuer,
        "jti": str(uuid.uuid4()),
        "iat": int(now),
        "exp": int(now + lifetime),
    }
    if not_before is not None:
        payload["nbf"] = int(not_before)
    headers = {"x5t": _b64url(bytes.fromhex(thumbprint))} if thumbprint else {}
    return jwt.encode(payload, key_pem, algorithm=algorithm, headers=headers)


def _endpoint(emulator, tenant=TENANT_ID, version=2) -> str:
    return f"{emulator.base_url}/{tenant}/oauth2/{'v2.0/' if version == 2 else ''}token"


def _post(emulator, assertion, *, tenant=TENANT_ID, version=2, **form) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **({"scope": SCOPE} if version == 2 else {"resource": "https://manage.office.com"}),
        **form,
    }
    return requests.post(
        _endpoint(emulator, tenant, version),
        data=data,
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )


def _claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def _assert_no_key_material(text: str, *pairs) -> None:
    """Neither PEM armour nor any line of a private key or certificate body shows up."""
    assert "-----BEGIN" not in text and "PRIVATE KEY" not in text
    for key_pem, certificate_pem, _ in pairs:
        for line in (key_pem + certificate_pem).splitlines():
            if line and not line.startswith("-----"):
                assert line not in text


def _aadsts(response: requests.Response) -> int:
    return response.json()["error_codes"][0]


# --- it works -------------------------------------------------------------------------------


def test_a_client_with_a_certificate_gets_a_token_and_lists_subscriptions(
    cert_emulator, registered
):
    key_pem, _, thumbprint = registered
    client = _client(
        cert_emulator, ClientCertificate(private_key_pem=key_pem, thumbprint=thumbprint)
    )
    try:
        client.start_subscription("Audit.Exchange")
        listed = client.list_subscriptions()
    finally:
        client.close()
    assert [item.content_type for item in listed] == ["Audit.Exchange"]


def test_msal_with_a_thumbprint_sends_rs256_x5t_and_the_token_says_certificate(
    cert_emulator, registered
):
    key_pem, _, thumbprint = registered
    app = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential={"private_key": key_pem, "thumbprint": thumbprint},
        authority=f"{cert_emulator.base_url}/{TENANT_ID}",
        instance_discovery=False,
        http_client=VerifyingSession(str(cert_emulator.ca_cert_path)),
    )
    result = app.acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result.get("error_description")
    # appidacr "2": the app proved itself with a certificate ("Access token claims reference",
    # https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
    assert _claims(result["access_token"])["appidacr"] == "2"
    assert (
        Api(cert_emulator, token=result["access_token"])
        .call("GET", "subscriptions/list")
        .status_code
        == 200
    )


def test_msal_with_the_public_certificate_sends_ps256_x5t_s256_and_is_accepted(
    cert_emulator, registered
):
    key_pem, certificate_pem, _ = registered
    app = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential={"private_key": key_pem, "public_certificate": certificate_pem},
        authority=f"{cert_emulator.base_url}/{TENANT_ID}",
        instance_discovery=False,
        http_client=VerifyingSession(str(cert_emulator.ca_cert_path)),
    )
    result = app.acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result.get("error_description")


def test_the_v1_endpoint_accepts_an_assertion_whose_audience_names_the_tenant_by_domain(
    cert_emulator, registered
):
    key_pem, _, thumbprint = registered
    audience = _endpoint(cert_emulator, TENANT_DOMAIN, version=1)
    response = _post(cert_emulator, _assertion(key_pem, thumbprint, audience), version=1)
    assert response.status_code == 200, response.text
    assert response.json()["resource"] == "https://manage.office.com"


def test_padded_standard_base64_x5t_and_an_nbf_in_the_past_are_accepted(cert_emulator, registered):
    key_pem, _, thumbprint = registered
    payload = {
        "aud": _endpoint(cert_emulator),
        "iss": DEFAULT_CLIENT_ID,
        "sub": DEFAULT_CLIENT_ID,
        "jti": "1",
        "nbf": time.time() - 60,
        "exp": time.time() + 600,
    }
    x5t = base64.b64encode(bytes.fromhex(thumbprint)).decode()  # ADAL's form, with '='
    assertion = jwt.encode(payload, key_pem, algorithm="RS256", headers={"x5t": x5t})
    assert _post(cert_emulator, assertion).status_code == 200


def test_the_secret_still_works_when_certificates_are_registered(cert_emulator):
    client = _client(cert_emulator, ClientSecret(DEFAULT_CLIENT_SECRET))
    try:
        assert client.list_subscriptions() == []
    finally:
        client.close()
    token = requests.post(
        _endpoint(cert_emulator),
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": SCOPE,
        },
        verify=str(cert_emulator.ca_cert_path),
        timeout=10,
    ).json()["access_token"]
    assert _claims(token)["appidacr"] == "1"


# --- refusals -------------------------------------------------------------------------------


def test_an_unregistered_certificate_is_700027_key_not_found_and_names_the_thumbprint(
    cert_emulator, registered, unregistered
):
    key_pem, _, thumbprint = unregistered
    client = _client(
        cert_emulator, ClientCertificate(private_key_pem=key_pem, thumbprint=thumbprint)
    )
    with pytest.raises(AuthenticationError) as raised:
        client.list_subscriptions()
    client.close()
    text = str(raised.value)
    assert raised.value.code == "AADSTS700027"
    assert "The key was not found" in text and thumbprint in text
    assert "thumbprint" in raised.value.explanation and "certificate" in raised.value.fix.lower()
    _assert_no_key_material(text + repr(raised.value), registered, unregistered)


def test_a_registered_thumbprint_signed_with_another_key_is_700027_invalid_signature(
    cert_emulator, registered, unregistered
):
    _, _, thumbprint = registered
    other_key = unregistered[0]
    response = _post(cert_emulator, _assertion(other_key, thumbprint, _endpoint(cert_emulator)))
    body = response.json()
    assert response.status_code == 401 and body["error"] == "invalid_client"
    assert _aadsts(response) == 700027
    assert "did not match the expected signature value" in body["error_description"]
    assert (
        thumbprint in body["error_description"] and "Found key 'Start=" in body["error_description"]
    )
    _assert_no_key_material(response.text, registered, unregistered)
    # The same through the client: refused, explained, no key material.
    client = _client(
        cert_emulator, ClientCertificate(private_key_pem=other_key, thumbprint=thumbprint)
    )
    with pytest.raises(AuthenticationError) as raised:
        client.list_subscriptions()
    client.close()
    assert raised.value.code == "AADSTS700027" and "signature" in str(raised.value)
    _assert_no_key_material(str(raised.value), registered, unregistered)


def test_without_registered_certificates_any_assertion_is_key_not_found(emulator, registered):
    key_pem, _, thumbprint = registered
    response = _post(emulator, _assertion(key_pem, thumbprint, _endpoint(emulator)))
    assert (response.status_code, _aadsts(response)) == (401, 700027)
    assert "The key was not found" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("issued_offset", "lifetime", "not_before_offset", "expected"),
    [
        (-3600, 600, None, "expiry time of assertion"),  # expired 50 minutes ago
        (0, 600, 3600, "assertion valid from"),  # not valid for another hour
    ],
)
def test_an_assertion_outside_its_time_range_is_700024(
    cert_emulator, registered, issued_offset, lifetime, not_before_offset, expected
):
    key_pem, _, thumbprint = registered
    not_before = time.time() + not_before_offset if not_before_offset else None
    assertion = _assertion(
        key_pem,
        thumbprint,
        _endpoint(cert_emulator),
        issued_offset=issued_offset,
        lifetime=lifetime,
        not_before=not_before,
    )
    response = _post(cert_emulator, assertion)
    assert (response.status_code, _aadsts(response)) == (401, 700024)
    assert "not within its valid time range" in response.json()["error_description"]
    assert expected in response.json()["error_description"]


def test_a_client_whose_clock_is_an_hour_behind_is_told_the_time_range_and_code(
    cert_emulator, registered
):
    key_pem, _, thumbprint = registered
    cert_emulator.clock.advance(3600)  # Entra's clock an hour ahead of this machine's
    client = _client(
        cert_emulator, ClientCertificate(private_key_pem=key_pem, thumbprint=thumbprint)
    )
    with pytest.raises(AuthenticationError) as raised:
        client.list_subscriptions()
    client.close()
    assert raised.value.code == "AADSTS700024"
    assert "not within its valid time range" in str(raised.value)
    assert "Synchronise the clock (NTP)" in raised.value.fix  # the specific advice, not generic
    _assert_no_key_material(str(raised.value), registered)


def test_a_little_clock_skew_is_tolerated(cert_emulator, registered):
    key_pem, _, thumbprint = registered
    assertion = _assertion(
        key_pem, thumbprint, _endpoint(cert_emulator), issued_offset=-660, lifetime=600
    )  # expired a minute ago by the client's clock
    assert _post(cert_emulator, assertion).status_code == 200


@pytest.mark.parametrize(
    "audience",
    [
        "{base}/" + OTHER_TENANT + "/oauth2/v2.0/token",  # another tenant's endpoint
        "https://login.microsoftonline.com/" + TENANT_ID + "/oauth2/v2.0/token",  # another host
        "{base}/common/oauth2/v2.0/token",
        "{base}/" + TENANT_ID + "/v2.0",  # the issuer, not the token endpoint
    ],
)
def test_an_assertion_for_another_audience_is_700023(cert_emulator, registered, audience):
    key_pem, _, thumbprint = registered
    assertion = _assertion(key_pem, thumbprint, audience.format(base=cert_emulator.base_url))
    response = _post(cert_emulator, assertion)
    assert (response.status_code, _aadsts(response)) == (401, 700023)
    assert "audience claim does not match" in response.json()["error_description"]


def test_an_assertion_for_the_token_endpoint_on_the_host_called_is_accepted(
    cert_emulator, registered
):
    """The discovery document names the token endpoint on the Host the client asked
    (test_request_host.py), so an assertion naming that endpoint as `aud` is the right one.
    """
    key_pem, _, thumbprint = registered
    host = f"localhost:{cert_emulator.port}"
    audience = f"https://{host}/{TENANT_ID}/oauth2/v2.0/token"
    response = requests.post(
        _endpoint(cert_emulator),
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": _assertion(key_pem, thumbprint, audience),
            "scope": SCOPE,
        },
        headers={"Host": host},
        verify=str(cert_emulator.ca_cert_path),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_an_assertion_issued_by_another_app_is_700021(cert_emulator, registered):
    key_pem, _, thumbprint = registered
    assertion = _assertion(key_pem, thumbprint, _endpoint(cert_emulator), issuer=str(uuid.uuid4()))
    response = _post(cert_emulator, assertion)
    assert (response.status_code, _aadsts(response)) == (401, 700021)


def test_a_secret_and_an_assertion_together_are_refused(cert_emulator, registered):
    key_pem, _, thumbprint = registered
    assertion = _assertion(key_pem, thumbprint, _endpoint(cert_emulator))
    response = _post(cert_emulator, assertion, client_secret=DEFAULT_CLIENT_SECRET)
    assert (response.status_code, _aadsts(response)) == (400, 7000216)
    assert response.json()["error"] == "invalid_request"
    assert "both 'client_secret' and 'client_assertion'" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"client_assertion": "not-a-jwt"}, 401, 50027),
        ({"client_assertion_type": "urn:ietf:params:oauth:grant-type:saml2-bearer"}, 400, 90011),
        ({"client_assertion": ""}, 400, 900144),
    ],
)
def test_an_unusable_assertion_gets_entras_code(cert_emulator, registered, form, status, code):
    key_pem, _, thumbprint = registered
    response = _post(
        cert_emulator, _assertion(key_pem, thumbprint, _endpoint(cert_emulator)), **form
    )
    assert (response.status_code, _aadsts(response)) == (status, code)


def test_an_assertion_without_a_thumbprint_header_is_50027(cert_emulator, registered):
    key_pem, _, _ = registered
    response = _post(cert_emulator, _assertion(key_pem, None, _endpoint(cert_emulator)))
    assert (response.status_code, _aadsts(response)) == (401, 50027)
    assert "No certificate thumbprint" in response.json()["error_description"]


def test_an_hs256_assertion_keyed_with_the_certificate_is_an_invalid_signature(
    cert_emulator, registered
):
    """The classic algorithm-confusion forgery: HMAC keyed with the public certificate."""
    _, certificate_pem, thumbprint = registered
    header = {"alg": "HS256", "typ": "JWT", "x5t": _b64url(bytes.fromhex(thumbprint))}
    payload = {
        "aud": _endpoint(cert_emulator),
        "iss": DEFAULT_CLIENT_ID,
        "sub": DEFAULT_CLIENT_ID,
        "exp": int(time.time()) + 600,
    }
    signing_input = ".".join(_b64url(json.dumps(part).encode()) for part in (header, payload))
    mac = hmac.new(certificate_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64url(mac)}"
    response = _post(cert_emulator, token)
    assert (response.status_code, _aadsts(response)) == (401, 700027)
    _assert_no_key_material(response.text, registered)
    assert certificate_pem not in response.text


def test_a_registered_certificate_past_its_end_date_is_700027_key_expired(
    cert_emulator, registered
):
    key_pem, _, thumbprint = registered
    cert_emulator.clock.advance(400 * 86400)
    response = _post(cert_emulator, _assertion(key_pem, thumbprint, _endpoint(cert_emulator)))
    assert (response.status_code, _aadsts(response)) == (401, 700027)
    assert "The key used is expired" in response.json()["error_description"]


# --- configuration and CLI ------------------------------------------------------------------


def test_a_registered_text_without_a_certificate_is_refused_at_start_without_echoing_it(
    registered,
):
    key_pem = registered[0]
    with pytest.raises(ValueError) as raised:
        start_emulator(EmulatorConfig(client_certificates=(key_pem,)))
    assert "client_certificates[0]" in str(raised.value)
    _assert_no_key_material(str(raised.value), registered)


def test_the_helper_makes_a_matching_key_certificate_and_thumbprint():
    key_pem, certificate_pem, thumbprint = make_self_signed_certificate("helper")
    (certificate,) = load_certificates(certificate_pem)
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert thumbprint == thumbprint.upper() and len(thumbprint) == 40
    assert certificate.fingerprint(hashes.SHA1()).hex().upper() == thumbprint


def test_the_emulator_command_registers_repeatable_certificate_files(tmp_path, registered):
    first, second = tmp_path / "app.pem", tmp_path / "other.pem"
    first.write_text(registered[1])
    second.write_text(make_self_signed_certificate("second")[1])
    parser = argparse.ArgumentParser()
    emulator_command.add_arguments(parser)
    args = parser.parse_args(
        ["--client-certificate", str(first), "--client-certificate", str(second)]
    )
    assert args.client_certificate == [registered[1], second.read_text()]
    key_file = tmp_path / "key.pem"
    key_file.write_text(registered[0])
    for bad in (key_file, tmp_path / "missing.pem"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--client-certificate", str(bad)])


def test_every_new_token_endpoint_code_has_advice_naming_the_cause():
    for code in ("AADSTS700027", "AADSTS700024", "AADSTS700021", "AADSTS700023"):
        assert ADVICE[code].explanation and ADVICE[code].fix
    assert "thumbprint" in ADVICE["AADSTS700027"].fix
    assert "clock" in ADVICE["AADSTS700024"].explanation
