"""`o365-pipeline onboard --no-listen` and `consent-complete`, against the local emulator the
command starts (loopback HTTPS): the v2.0 consent URL, the tenant kept as consent pending until
a valid answer, every refusal one line with exit 2, and after Accept on the emulator's page the
doctor, the subscriptions and the first hour landed, equal to the emulator's ground truth.
(The listening mode, in a real browser: e2e/test_onboard_in_a_browser.py.)"""

import html
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from o365_emulator import DEFAULT_CLIENT_ID
from o365_emulator.embedded import stop_embedded_emulator
from o365_pipeline.cli import main
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline_tests.onboarded import assert_landed_equals_ground_truth, landed_window

ACME = "3c9d2e1f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
OTHER_TENANT = "6f5e4d3c-2b1a-4098-8765-43210fedcba9"
VENDOR_REDIRECT = "http://localhost:8400/vendor/consent"  # never listened on: we read Location
HTTP_TIMEOUT = 30


@pytest.fixture
def data_dir(tmp_path):
    yield tmp_path / "data"
    stop_embedded_emulator(tmp_path / "data" / ".emulator")


def _run(capfd, *argv):
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def _ask(capfd, data_dir, tenant=ACME):
    code, out, err = _run(
        capfd, "onboard", "acme", tenant, "--no-listen", "--redirect-uri", VENDOR_REDIRECT,
        "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0, err
    return next(line for line in out.splitlines() if "/v2.0/adminconsent?" in line), out


def _registered(data_dir):
    entries = json.loads((data_dir / "tenants.json").read_text())["tenants"]
    return {entry["name"]: entry for entry in entries}


def _complete(capfd, data_dir, url, *options):
    return _run(capfd, "consent-complete", "acme", url, "--data-dir", str(data_dir), *options)


def _answer(state, **params):
    return f"{VENDOR_REDIRECT}?{urlencode({**params, 'state': state})}"


def _state(url):
    return parse_qs(urlsplit(url).query)["state"][0]


def test_no_listen_without_a_redirect_uri_is_refused_before_registering(capfd, data_dir):
    code, _, err = _run(capfd, "onboard", "acme", ACME, "--no-listen", "--data-dir", str(data_dir))

    assert code == 2 and "--no-listen needs --redirect-uri" in err
    assert not (data_dir / "tenants.json").exists()


def test_no_listen_prints_the_v2_consent_url_and_keeps_the_tenant_pending(capfd, data_dir):
    url, out = _ask(capfd, data_dir)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "https" and parts.path == f"/{ACME}/v2.0/adminconsent"
    assert query["client_id"] == [DEFAULT_CLIENT_ID]
    assert query["scope"] == ["https://manage.office.com/.default"]
    assert query["redirect_uri"] == [VENDOR_REDIRECT]
    assert len(query["state"][0]) >= 43
    assert "consent-complete acme" in out
    assert _registered(data_dir)["acme"]["consent_pending_since"]
    _, listed, _ = _run(capfd, "tenants", "list", "--data-dir", str(data_dir))
    assert re.search(r"^acme .* pending ", listed, re.M)


def test_asking_again_reuses_the_registration_and_retires_the_old_state(capfd, data_dir):
    first, _ = _ask(capfd, data_dir)
    second, out = _ask(capfd, data_dir)

    assert "already registered (consent pending)" in out
    assert _state(first) != _state(second)
    code, _, err = _complete(
        capfd, data_dir, _answer(_state(first), admin_consent="True", tenant=ACME)
    )
    assert code == 2 and "another state" in err
    assert _registered(data_dir)["acme"]["consent_pending_since"]


def test_a_declined_answer_is_one_line_and_the_tenant_stays_pending(capfd, data_dir):
    url, _ = _ask(capfd, data_dir)

    code, _, err = _complete(
        capfd,
        data_dir,
        _answer(_state(url), error="access_denied",
                error_description="AADSTS65004: User declined to consent to access the app."),
    )  # fmt: skip

    assert code == 2
    assert err.startswith("error: Admin consent was declined for acme") and err.count("\n") == 1
    assert _registered(data_dir)["acme"]["consent_pending_since"]


def test_consent_granted_in_another_tenant_is_refused(capfd, data_dir):
    url, _ = _ask(capfd, data_dir)

    code, _, err = _complete(
        capfd, data_dir, _answer(_state(url), admin_consent="True", tenant=OTHER_TENANT)
    )

    assert code == 2 and f"granted in tenant {OTHER_TENANT}, not in {ACME}" in err
    assert _registered(data_dir)["acme"]["consent_pending_since"]


def test_an_answer_at_another_address_is_refused(capfd, data_dir):
    url, _ = _ask(capfd, data_dir)
    elsewhere = f"https://elsewhere.example/cb?{urlencode({'state': _state(url)})}"

    code, _, err = _complete(capfd, data_dir, elsewhere)

    assert code == 2 and "not an answer at the redirect URI" in err


def test_consent_complete_without_an_open_request_names_the_command(capfd, data_dir):
    _run(capfd, "tenants", "add", "acme", ACME, "--data-dir", str(data_dir))

    code, _, err = _complete(capfd, data_dir, _answer("s", admin_consent="True", tenant=ACME))

    assert code == 2 and "No admin-consent request is open for 'acme'" in err


def test_a_listener_nobody_answers_times_out_in_one_line(capfd, data_dir):
    code, out, err = _run(
        capfd, "onboard", "acme", ACME, "--no-browser", "--timeout", "0.5",
        "--data-dir", str(data_dir),
    )  # fmt: skip

    redirect = parse_qs(urlsplit(out.splitlines()[2]).query)["redirect_uri"][0]
    assert urlsplit(redirect).hostname == "localhost"
    assert code == 2
    assert err.startswith("error: No admin-consent answer for acme within 0.5 s")
    assert _registered(data_dir)["acme"]["consent_pending_since"]


def test_accept_on_the_emulators_page_then_consent_complete_lands_an_hour(capfd, data_dir):
    url, _ = _ask(capfd, data_dir)
    endpoint = json.loads((data_dir / ".emulator" / "endpoint.json").read_text())
    verify = endpoint["ca_cert_path"]
    page = requests.get(url, verify=verify, timeout=HTTP_TIMEOUT)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    fields = {name: html.unescape(value) for name, value in fields.items() if name != "decision"}
    accepted = requests.post(
        url.split("?", 1)[0], data={**fields, "decision": "accept"}, verify=verify,
        allow_redirects=False, timeout=HTTP_TIMEOUT,
    )  # fmt: skip
    assert accepted.status_code == 302

    code, out, err = _complete(
        capfd, data_dir, accepted.headers["Location"], "--backfill-hours", "1"
    )

    assert code == 0, out + err
    assert f"admin consent granted for acme in tenant {ACME}" in out
    assert "[ok] permissions: granted: ActivityFeed.Read, ActivityFeed.ReadDlp" in out
    assert "verdict: ready" in out
    assert out.count(": enabled") >= len(CONTENT_TYPES)
    window = landed_window(out)
    assert "1 window(s) landed, 0 failed" in out
    assert "consent_pending_since" not in _registered(data_dir)["acme"]
    assert_landed_equals_ground_truth(data_dir, "acme", ACME, window)
