"""The admin-consent URL and the reading of Entra's answer, as plain logic (no HTTP): every
documented answer of "Admin consent on the Microsoft identity platform" maps to one outcome."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from o365_pipeline.api.settings import ClientSecret, ClientSettings
from o365_pipeline.pipeline.admin_consent import (
    ConsentAnswerError,
    ConsentDeclinedError,
    ConsentFailedError,
    ConsentGranted,
    ConsentRedirectError,
    ConsentRequest,
    ConsentTenantMismatchError,
    consent_request_for,
    read_consent_answer,
    read_redirect_url,
)

TENANT = "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"
OTHER_TENANT = "2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11"
APP = "5e1b0a3c-7d2f-4e8a-9b6c-0f4d3e2a1b9c"
REDIRECT = "http://localhost:50123/admin-consent"


def _settings(cloud="commercial", **overrides) -> ClientSettings:
    return ClientSettings(
        tenant_id=TENANT, client_id=APP, credential=ClientSecret("s"), cloud=cloud, **overrides
    )


def _request(state="the-state-of-this-request") -> ConsentRequest:
    return consent_request_for("acme", _settings(), REDIRECT, state=state)


def _answer(**params) -> str:
    return urlencode(params)


def test_the_url_is_the_v2_admin_consent_endpoint_of_the_tenant_with_the_static_scope():
    request = consent_request_for("acme", _settings(), REDIRECT)
    parts = urlsplit(request.url)
    query = parse_qs(parts.query)

    assert (parts.scheme, parts.netloc) == ("https", "login.microsoftonline.com")
    assert parts.path == f"/{TENANT}/v2.0/adminconsent"
    assert query == {
        "client_id": [APP],
        "scope": ["https://manage.office.com/.default"],
        "redirect_uri": [REDIRECT],
        "state": [request.state],
    }


@pytest.mark.parametrize(
    ("cloud", "login_host", "scope"),
    [
        ("gcc", "login.microsoftonline.com", "https://manage-gcc.office.com/.default"),
        ("gcc_high", "login.microsoftonline.us", "https://manage.office365.us/.default"),
        ("dod", "login.microsoftonline.us", "https://manage.protection.apps.mil/.default"),
        ("china", "login.partner.microsoftonline.cn", "https://manage.office365.cn/.default"),
    ],
)
def test_a_national_cloud_uses_its_own_login_host_and_resource(cloud, login_host, scope):
    url = consent_request_for("acme", _settings(cloud), REDIRECT).url
    parts = urlsplit(url)

    assert parts.netloc == login_host
    assert parse_qs(parts.query)["scope"] == [scope]


def test_an_explicit_login_host_is_used_as_the_token_requests_use_it():
    settings = _settings(login_base_url="https://127.0.0.1:8443")
    url = consent_request_for("acme", settings, REDIRECT).url

    assert url.startswith(f"https://127.0.0.1:8443/{TENANT}/v2.0/adminconsent?")


def test_each_request_gets_a_new_unguessable_state_kept_out_of_its_repr():
    first, second = (consent_request_for("acme", _settings(), REDIRECT) for _ in range(2))

    assert first.state != second.state
    assert len(first.state) >= 43  # 32 random bytes, URL-safe base64
    assert first.state not in repr(first)


@pytest.mark.parametrize(
    "uri",
    ["http://connector.example.com/consent", "/admin-consent", "ftp://localhost/x",
     "https://connector.example.com/consent#fragment"],
    ids=["http-off-localhost", "relative", "not-http", "fragment"],
)  # fmt: skip
def test_a_redirect_uri_entra_would_refuse_is_refused_before_any_request(uri):
    with pytest.raises(ConsentRedirectError, match="Invalid redirect URI"):
        consent_request_for("acme", _settings(), uri)


def test_https_and_loopback_redirect_uris_are_accepted():
    for uri in ("https://connector.example.com/o365/consent", "http://127.0.0.1:9/cb", REDIRECT):
        assert consent_request_for("acme", _settings(), uri).redirect_uri == uri


def test_the_documented_success_answer_grants_with_its_tenant_and_scopes():
    request = _request()
    granted = read_consent_answer(
        _answer(
            admin_consent="True",
            tenant=TENANT,
            state=request.state,
            scope="https://manage.office.com/.default openid",
        ),
        request,
    )

    assert granted == ConsentGranted(TENANT, ("https://manage.office.com/.default", "openid"))


def test_the_tenant_is_compared_as_a_guid_whatever_its_case():
    request = _request()
    granted = read_consent_answer(
        _answer(admin_consent="True", tenant=TENANT.upper(), state=request.state), request
    )

    assert granted.tenant_id == TENANT


def test_access_denied_is_a_declined_consent_even_beside_admin_consent_true():
    request = _request()
    answer = _answer(
        error="access_denied",
        error_subcode="cancel",
        error_description="AADSTS65004: User declined to consent to access the app.\r\n"
        "Trace ID: 1 Correlation ID: 2",
        admin_consent="True",
        tenant=TENANT,
        state=request.state,
    )

    with pytest.raises(ConsentDeclinedError) as declined:
        read_consent_answer(answer, request)

    message = str(declined.value)
    assert "consent was declined for acme" in message
    assert "AADSTS65004: User declined to consent to access the app." in message
    assert "Trace ID" not in message  # only the first line of Entra's description
    assert f"o365-pipeline onboard acme {TENANT}" in message


def test_another_error_is_reported_with_its_code_and_description():
    request = _request()
    answer = _answer(
        error="consent_required",
        error_description="AADSTS65004: The resource owner or authorization server denied "
        "the request.",
        state=request.state,
    )

    with pytest.raises(ConsentFailedError, match="failed: consent_required: AADSTS65004"):
        read_consent_answer(answer, request)


def test_an_error_description_with_control_characters_is_shown_as_one_short_line():
    request = _request()
    answer = _answer(error="x", error_description="bad\x1b[31m" + "y" * 1000, state=request.state)

    with pytest.raises(ConsentFailedError) as failed:
        read_consent_answer(answer, request)

    assert "\x1b" not in str(failed.value)
    assert "y" * 300 not in str(failed.value) and "…" in str(failed.value)


def test_an_answer_with_another_state_is_refused_even_when_it_grants():
    request = _request()
    answer = _answer(admin_consent="True", tenant=TENANT, state="someone-elses-state")

    with pytest.raises(ConsentAnswerError, match="another state"):
        read_consent_answer(answer, request)


def test_an_answer_without_state_is_refused():
    with pytest.raises(ConsentAnswerError, match="no state"):
        read_consent_answer(_answer(admin_consent="True", tenant=TENANT), _request())


def test_a_repeated_parameter_makes_the_answer_ambiguous_and_refused():
    request = _request()
    answer = f"admin_consent=True&tenant={TENANT}&tenant={OTHER_TENANT}&state={request.state}"

    with pytest.raises(ConsentAnswerError, match="repeats tenant"):
        read_consent_answer(answer, request)


def test_consent_granted_in_another_tenant_is_refused():
    request = _request()
    answer = _answer(admin_consent="True", tenant=OTHER_TENANT, state=request.state)

    with pytest.raises(ConsentTenantMismatchError, match=f"granted in tenant {OTHER_TENANT}"):
        read_consent_answer(answer, request)


def test_an_answer_without_admin_consent_or_error_is_not_taken_for_success():
    request = _request()

    with pytest.raises(ConsentAnswerError, match="not an admin-consent answer"):
        read_consent_answer(_answer(tenant=TENANT, state=request.state), request)


def test_a_pasted_redirect_url_must_be_at_the_requests_redirect_uri():
    request = _request()
    query = _answer(admin_consent="True", tenant=TENANT, state=request.state)

    assert read_redirect_url(f"{REDIRECT}?{query}", request).tenant_id == TENANT
    with pytest.raises(ConsentAnswerError, match="not an answer at the redirect URI"):
        read_redirect_url(f"http://localhost:50124/admin-consent?{query}", request)


def test_entra_adds_a_slash_to_a_redirect_uri_without_a_path():
    request = consent_request_for("acme", _settings(), "https://connector.example.com", "s")
    query = _answer(admin_consent="True", tenant=TENANT, state="s")

    assert read_redirect_url(f"https://connector.example.com/?{query}", request).tenant_id
