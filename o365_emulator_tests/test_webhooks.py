"""`subscriptions/start` with a webhook validates it the way Microsoft does before saving it.

Office 365 Management Activity API reference, "Start a subscription" and "Webhook validation":
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference
("we will send a validation notification to the specified webhook address … If we do not
receive an HTTP 200 OK response, the subscription will not be created"; errors AF20021 and
AF20003 in its "Errors" table).
"""

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator_tests.conftest import Api, error_code
from o365_emulator_tests.webhook_receiver import WebhookReceiver


def start_with_webhook(api, webhook, content_type="Audit.SharePoint"):
    return requests.post(
        f"{api.emulator.base_url}/api/v1.0/{api.tenant}/activity/feed/subscriptions/start",
        params={"contentType": content_type},
        json={"webhook": webhook},
        headers={"Authorization": f"Bearer {api.token}"},
        verify=str(api.emulator.ca_cert_path),
        timeout=30,
    )


@pytest.fixture
def listener(emulator):
    with WebhookReceiver(emulator.ca_cert_path.parent, status=200) as receiver:
        yield receiver


@pytest.fixture
def failing_listener(emulator):
    with WebhookReceiver(emulator.ca_cert_path.parent, status=500) as receiver:
        yield receiver


def _closed_port_address():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"https://127.0.0.1:{port}/o365/hook"


def test_start_posts_the_validation_code_to_the_webhook_and_saves_it(api, listener):
    webhook = {"address": listener.address, "authId": "o365activityapinotification"}
    response = start_with_webhook(api, webhook)
    assert response.status_code == 200, response.text
    assert response.json()["webhook"] == {
        "status": "enabled",
        "address": listener.address,
        "authId": "o365activityapinotification",
        "expiration": None,
    }
    [post] = listener.posts
    assert post.path == "/o365/hook"
    assert post.body["validationCode"] and (
        post.headers["Webhook-ValidationCode"] == post.body["validationCode"]
    )
    assert post.headers["Webhook-AuthID"] == "o365activityapinotification"


def test_a_webhook_answering_500_gets_af20021_and_no_subscription(api, failing_listener):
    response = start_with_webhook(api, {"address": failing_listener.address})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "AF20021",
        "message": f"The webhook endpoint {{{failing_listener.address}}} could not be "
        "validated. The endpoint did not return HTTP 200.",
    }
    assert len(failing_listener.posts) == 1
    assert api.call("GET", "subscriptions/list").json() == []


def test_a_webhook_nobody_listens_on_gets_af20021(api):
    response = start_with_webhook(api, {"address": _closed_port_address()})
    assert response.status_code == 400 and error_code(response) == "AF20021"


def test_a_webhook_that_never_answers_is_refused_within_the_timeout():
    with socket.socket() as silent:  # accepts connections, never speaks TLS or HTTP
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"https://127.0.0.1:{silent.getsockname()[1]}/hook"
        with start_emulator(EmulatorConfig(webhook_timeout_seconds=0.5)) as emulator:
            began = time.monotonic()
            response = start_with_webhook(Api(emulator), {"address": address})
            waited = time.monotonic() - began
    assert error_code(response) == "AF20021"
    assert waited < 10  # bounded by the timeout, not by the silent listener


def test_a_failing_webhook_leaves_an_enabled_subscription_unchanged(subscribed, failing_listener):
    before = subscribed.call("GET", "subscriptions/list").json()
    response = start_with_webhook(
        subscribed, {"address": failing_listener.address}, "Audit.Exchange"
    )
    assert error_code(response) == "AF20021"
    assert subscribed.call("GET", "subscriptions/list").json() == before


def test_an_expiration_in_the_past_gets_af20003_without_a_validation_post(api, listener):
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = start_with_webhook(api, {"address": listener.address, "expiration": past})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "AF20003",
        "message": f"Expiration {past} provided is set to past date and time.",
    }
    assert listener.posts == []


def test_an_empty_expiration_is_echoed_as_null(api, listener):
    # The reference's sample request sends "expiration": "" and its response shows null.
    response = start_with_webhook(
        api, {"address": listener.address, "authId": "", "expiration": ""}
    )
    assert response.status_code == 200, response.text
    assert response.json()["webhook"]["expiration"] is None
    listed = api.call("GET", "subscriptions/list").json()
    assert listed[0]["webhook"]["expiration"] is None


def test_a_future_expiration_is_accepted(api, listener):
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
    response = start_with_webhook(api, {"address": listener.address, "expiration": future})
    assert response.status_code == 200, response.text
    assert response.json()["webhook"]["expiration"] == future


def test_an_expiration_that_is_not_a_time_gets_af20002(api, listener):
    response = start_with_webhook(api, {"address": listener.address, "expiration": "next week"})
    assert response.status_code == 400 and error_code(response) == "AF20002"
    assert listener.posts == []
