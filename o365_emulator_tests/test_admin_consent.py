"""The emulated admin-consent page, over real loopback HTTPS: it lists the app's four
permissions, Accept grants them (tokens issued afterwards carry the roles) and redirects with
Entra's documented answer, Cancel redirects with access_denied, and a request it cannot answer
safely gets an AADSTS error page and no redirect."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from o365_emulator import DEFAULT_CLIENT_ID, EmulatorConfig, start_emulator
from o365_emulator.identity import ALL_ROLES
from o365_emulator_tests.conftest import SCOPE, fetch_token
from o365_pipeline.tenants import DEMO_TENANTS

NEW_TENANT = "3c9d2e1f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
GCC_TENANT = "6f5e4d3c-2b1a-4098-8765-43210fedcba9"
DEMO_TENANT = DEMO_TENANTS[0].tenant_id
REDIRECT = "http://localhost:50123/admin-consent"
VENDOR_REDIRECT = "https://connector.example.com/o365/consent"


@pytest.fixture(scope="module")
def emulator():
    config = EmulatorConfig(
        tenants=(DEMO_TENANT, NEW_TENANT, GCC_TENANT),
        consent_required_tenants=(NEW_TENANT, GCC_TENANT),
        tenant_clouds=((GCC_TENANT, "gcc"),),
        redirect_uris=(VENDOR_REDIRECT,),
    )
    with start_emulator(config) as running:
        yield running


def _page(emulator, tenant=NEW_TENANT, path="v2.0/adminconsent", **params):
    query = {
        "client_id": DEFAULT_CLIENT_ID,
        "scope": SCOPE,
        "redirect_uri": REDIRECT,
        "state": "state-123",
        **params,
    }
    return requests.get(
        f"{emulator.base_url}/{tenant}/{path}",
        params={name: value for name, value in query.items() if value is not None},
        verify=str(emulator.ca_cert_path),
        allow_redirects=False,
        timeout=10,
    )


def _decide(emulator, page, decision):
    """Post the page's own form, as the browser would, with the button's decision."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)
        if name != "decision"
    }
    return requests.post(
        f"{emulator.base_url}{html.unescape(action)}",
        data={**fields, "decision": decision},
        verify=str(emulator.ca_cert_path),
        allow_redirects=False,
        timeout=10,
    )


def _roles(emulator, tenant, scope=SCOPE):
    token = fetch_token(emulator, tenant=tenant, scope=scope).json()["access_token"]
    return jwt.decode(token, options={"verify_signature": False})["roles"]


def _location(response):
    parts = urlsplit(response.headers["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def test_the_page_lists_exactly_the_four_permissions_in_microsofts_wording(emulator):
    page = _page(emulator)

    listed = re.findall(r'<li data-permission="([^"]+)">([^<]+)</li>', page.text)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert listed == [
        ("ActivityFeed.Read", "Read activity data for your organization"),
        ("ServiceHealth.Read", "Read service health information for your organization"),
        ("ActivityFeed.ReadDlp", "Read DLP policy events including detected sensitive data"),
        ("User.Read", "Sign in and read user profile"),
    ]
    assert "<h2>Office 365 Management APIs</h2>" in page.text
    assert "<h2>Microsoft Graph</h2>" in page.text
    assert 'value="accept">Accept</button>' in page.text
    assert 'value="cancel">Cancel</button>' in page.text


def test_accept_grants_the_roles_and_redirects_with_the_documented_answer(emulator):
    assert _roles(emulator, NEW_TENANT) == []  # never consented: a token without roles

    answer = _decide(emulator, _page(emulator), "accept")

    target, query = _location(answer)
    assert answer.status_code == 302
    assert target == REDIRECT
    assert query == {
        "admin_consent": ["True"],
        "tenant": [NEW_TENANT],
        "state": ["state-123"],
        "scope": [SCOPE],
    }
    assert _roles(emulator, NEW_TENANT) == list(ALL_ROLES)


def test_cancel_redirects_with_access_denied_and_grants_nothing(emulator):
    page = _page(emulator, tenant=GCC_TENANT, scope="https://manage-gcc.office.com/.default")

    answer = _decide(emulator, page, "cancel")

    _, query = _location(answer)
    assert answer.status_code == 302
    assert query["error"] == ["access_denied"]
    assert query["error_description"] == [
        "AADSTS65004: User declined to consent to access the app."
    ]
    assert query["state"] == ["state-123"]
    assert _roles(emulator, GCC_TENANT, scope="https://manage-gcc.office.com/.default") == []


def test_a_tenant_never_asked_for_consent_keeps_its_roles(emulator):
    assert _roles(emulator, DEMO_TENANT) == list(ALL_ROLES)


def test_the_older_endpoint_without_scope_answers_without_scope(emulator):
    answer = _decide(emulator, _page(emulator, path="adminconsent", scope=None), "cancel")

    _, query = _location(answer)
    assert "scope" not in query and query["tenant"] == [NEW_TENANT]


def test_a_registered_vendor_redirect_uri_is_accepted(emulator):
    answer = _decide(emulator, _page(emulator, redirect_uri=VENDOR_REDIRECT), "cancel")

    assert _location(answer)[0] == VENDOR_REDIRECT


@pytest.mark.parametrize(
    ("tenant", "params", "code"),
    [
        ("0b1f0e2d-0000-4000-8000-000000000000", {}, "AADSTS90002"),
        (NEW_TENANT, {"client_id": None}, "AADSTS900144"),
        (NEW_TENANT, {"client_id": "11111111-2222-4333-8444-555555555555"}, "AADSTS700016"),
        (NEW_TENANT, {"redirect_uri": None}, "AADSTS900144"),
        (NEW_TENANT, {"redirect_uri": "/admin-consent"}, "AADSTS90102"),
        (NEW_TENANT, {"redirect_uri": "https://attacker.example/steal"}, "AADSTS50011"),
        (NEW_TENANT, {"scope": None}, "AADSTS900144"),
        (NEW_TENANT, {"scope": "https://manage.office.com/ActivityFeed.Read"}, "AADSTS70011"),
        (GCC_TENANT, {}, "AADSTS70011"),  # the commercial resource for a GCC tenant
    ],
    ids=["unknown-tenant", "no-client", "unknown-client", "no-redirect", "relative-redirect",
         "unregistered-redirect", "no-scope", "dynamic-scope", "other-clouds-scope"],
)  # fmt: skip
def test_a_request_it_cannot_answer_safely_gets_an_error_page_and_no_redirect(
    emulator, tenant, params, code
):
    page = _page(emulator, tenant=tenant, **params)

    assert page.status_code == 200  # Entra shows such errors on its page
    assert "Location" not in page.headers
    assert f'<p id="error-code">{code}:' in page.text
    assert "<form" not in page.text


def test_a_forged_post_is_checked_like_the_page(emulator):
    answer = requests.post(
        f"{emulator.base_url}/{NEW_TENANT}/v2.0/adminconsent",
        data={
            "client_id": DEFAULT_CLIENT_ID,
            "scope": SCOPE,
            "redirect_uri": "https://attacker.example/steal",
            "decision": "accept",
        },
        verify=str(emulator.ca_cert_path),
        allow_redirects=False,
        timeout=10,
    )

    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "AADSTS50011" in answer.text
