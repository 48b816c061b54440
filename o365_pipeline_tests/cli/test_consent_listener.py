"""The loopback listener `onboard` waits on: it answers the browser with a page, hands the
judged answer to the waiting command, ignores everything but its callback, and gives up after
its timeout. Real HTTP over 127.0.0.1."""

import socket
import threading
import time
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from o365_pipeline.api.settings import ClientSecret, ClientSettings
from o365_pipeline.cli.consent_listener import (
    CALLBACK_PATH,
    CONNECTION_TIMEOUT_SECONDS,
    ConsentListener,
)
from o365_pipeline.pipeline.admin_consent import (
    ConsentDeclinedError,
    ConsentTimeoutError,
    consent_request_for,
)

TENANT = "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"
HTTP_TIMEOUT = 10


@pytest.fixture
def listener():
    with ConsentListener() as running:
        settings = ClientSettings(
            tenant_id=TENANT,
            client_id="5e1b0a3c-7d2f-4e8a-9b6c-0f4d3e2a1b9c",
            credential=ClientSecret("s"),
        )
        running.request = consent_request_for("acme", settings, running.redirect_uri)
        running.expect(running.request)
        yield running


def _on_loopback(listener, query: str, path: str = CALLBACK_PATH, timeout=HTTP_TIMEOUT):
    """What the browser does with the redirect (the listener binds 127.0.0.1)."""
    port = urlsplit(listener.redirect_uri).port
    return requests.get(f"http://127.0.0.1:{port}{path}?{query}", timeout=timeout)


def test_the_redirect_uri_is_localhost_on_the_listeners_port():
    with ConsentListener() as listener:
        parts = urlsplit(listener.redirect_uri)
        assert (parts.scheme, parts.hostname, parts.path) == ("http", "localhost", CALLBACK_PATH)
        assert parts.port and parts.port > 0


def test_a_granting_answer_shows_the_recorded_page_and_wakes_the_wait(listener):
    query = urlencode({"admin_consent": "True", "tenant": TENANT, "state": listener.request.state})

    page = _on_loopback(listener, query)
    granted = listener.wait(HTTP_TIMEOUT)

    assert page.status_code == 200
    assert "Consent recorded; you can close this tab" in page.text
    assert granted.tenant_id == TENANT


def test_a_declining_answer_shows_the_reason_and_the_wait_raises_it(listener):
    query = urlencode(
        {
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
            "state": listener.request.state,
        }
    )

    page = _on_loopback(listener, query)

    assert page.status_code == 400
    assert "consent was declined for acme" in page.text
    with pytest.raises(ConsentDeclinedError):
        listener.wait(HTTP_TIMEOUT)


def test_other_paths_are_404_and_leave_the_wait_untouched(listener):
    favicon = _on_loopback(listener, "", path="/favicon.ico")

    assert favicon.status_code == 404
    with pytest.raises(ConsentTimeoutError):
        listener.wait(0.2)


def test_only_the_first_answer_counts(listener):
    good = urlencode({"admin_consent": "True", "tenant": TENANT, "state": listener.request.state})
    _on_loopback(listener, good)

    again = _on_loopback(listener, "error=access_denied&state=" + listener.request.state)

    assert again.status_code == 409
    assert listener.wait(HTTP_TIMEOUT).tenant_id == TENANT


def test_a_silent_connection_does_not_block_the_real_answer(listener):
    """Browsers open speculative connections that send nothing; the answer still gets in
    well before such a connection's own timeout would free a single-threaded server.
    """
    port = urlsplit(listener.redirect_uri).port
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT):
        query = urlencode(
            {"admin_consent": "True", "tenant": TENANT, "state": listener.request.state}
        )
        page = _on_loopback(listener, query, timeout=CONNECTION_TIMEOUT_SECONDS / 2)

    assert page.status_code == 200


def test_no_answer_times_out_naming_the_way_to_finish_later(listener):
    started = time.monotonic()

    with pytest.raises(ConsentTimeoutError) as timed_out:
        listener.wait(0.3)

    assert 0.3 <= time.monotonic() - started < HTTP_TIMEOUT
    assert "consent-complete acme" in str(timed_out.value)
    assert timed_out.value.retriable


def test_the_wait_ends_as_soon_as_the_answer_arrives(listener):
    query = urlencode({"admin_consent": "True", "tenant": TENANT, "state": listener.request.state})
    threading.Timer(0.2, _on_loopback, args=(listener, query)).start()
    started = time.monotonic()

    listener.wait(HTTP_TIMEOUT)

    assert time.monotonic() - started < HTTP_TIMEOUT / 2
