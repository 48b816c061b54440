"""The emulator notifies a saved webhook of new blobs and retries failures, as the Office 365
Management Activity API reference's "Receiving notifications" and "Notification failure and
retry" describe (an array of blob descriptions with tenantId and clientId, `Webhook-AuthID`,
anything but 200 retried with growing waits, the webhook disabled after persistent failure).

Over HTTPS the notifier's thread is parked (a scan interval of an hour) and each test calls
`tick()` itself, so nothing depends on timing; the retry schedule is tested on an injected clock.
"""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import requests

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator.notifier import NotificationSchedule, WebhookNotifier
from o365_emulator.state import ENABLED, Subscription, SubscriptionState
from o365_emulator.synthetic import BlobSpec
from o365_emulator_tests.conftest import Api, api_text
from o365_emulator_tests.webhook_receiver import WebhookReceiver
from o365_pipeline_tests.fixtures import TENANT_ID

AUTH_ID = "o365activityapinotification"
PARKED = NotificationSchedule(scan_seconds=3600, first_retry_seconds=0, give_up_seconds=3600)


@pytest.fixture
def parked_emulator():
    with start_emulator(EmulatorConfig(records_per_hour=20, notifications=PARKED)) as running:
        yield running


def _subscribe_two_hours_ago(api, address, content_type="Audit.Exchange"):
    """Start with the webhook while the emulated clock stands two hours back, then bring it to
    the present: the blobs of those two hours become available "now", as new content does.
    """
    api.emulator.clock.set_offset(-7200)
    response = requests.post(
        f"{api.emulator.base_url}/api/v1.0/{api.tenant}/activity/feed/subscriptions/start",
        params={"contentType": content_type},
        json={"webhook": {"address": address, "authId": AUTH_ID, "expiration": ""}},
        headers={"Authorization": f"Bearer {api.token}"},
        verify=str(api.emulator.ca_cert_path),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    since = api.emulator.clock.now()
    api.emulator.clock.set_offset(0)
    return since


def _listed_ids(api, since, content_type="Audit.Exchange"):
    now = datetime.now(UTC)
    items = api.content(content_type, startTime=api_text(since), endTime=api_text(now)).json()
    return {item["contentId"] for item in items if item["contentCreated"] > since.isoformat()}


def test_blobs_that_become_available_are_posted_with_the_auth_id(parked_emulator):
    api = Api(parked_emulator)
    with WebhookReceiver(parked_emulator.ca_cert_path.parent) as hook:
        since = _subscribe_two_hours_ago(api, hook.address)
        parked_emulator.api.notifier.tick()
    validation, *notifications = hook.posts
    assert "Webhook-ValidationCode" in validation.headers
    assert notifications
    items = [item for post in notifications for item in post.body]
    for post in notifications:
        assert post.headers["Webhook-AuthID"] == AUTH_ID
        assert post.headers["Content-Type"] == "application/json; utf-8"
        assert isinstance(post.body, list) and 1 <= len(post.body) <= PARKED.batch_size
    assert {item["tenantId"] for item in items} == {TENANT_ID}
    assert {item["clientId"] for item in items} == {parked_emulator.config.client_id}
    assert set(items[0]) == {
        "tenantId",
        "clientId",
        "contentType",
        "contentId",
        "contentUri",
        "contentCreated",
        "contentExpiration",
    }
    assert sorted(item["contentId"] for item in items) == sorted(_listed_ids(api, since))


def test_a_failed_notification_is_retried_until_it_is_answered_200(parked_emulator):
    api = Api(parked_emulator)
    notifier = parked_emulator.api.notifier
    with WebhookReceiver(parked_emulator.ca_cert_path.parent) as hook:
        since = _subscribe_two_hours_ago(api, hook.address)
        hook.status = 503
        notifier.tick()
        failed = len(hook.posts) - 1
        assert failed >= 1 and notifier.pending() == failed
        hook.status = 200
        notifier.tick()  # first_retry_seconds=0: due again at once
        assert notifier.pending() == 0
        notifier.tick()
    delivered = [item["contentId"] for post in hook.posts[1 + failed :] for item in post.body]
    assert sorted(delivered) == sorted(_listed_ids(api, since))  # each once after the retry
    history = api.call(
        "GET",
        "subscriptions/notifications",
        contentType="Audit.Exchange",
        startTime=api_text(since - timedelta(hours=1)),
        endTime=api_text(datetime.now(UTC)),
    ).json()
    statuses = {entry["notificationStatus"] for entry in history}
    assert statuses == {"failed", "success"}
    assert all("notificationSent" in entry and "tenantId" not in entry for entry in history)


def test_no_notification_for_content_available_before_the_webhook_was_saved(parked_emulator):
    api = Api(parked_emulator)
    with WebhookReceiver(parked_emulator.ca_cert_path.parent) as hook:
        response = requests.post(
            f"{parked_emulator.base_url}/api/v1.0/{api.tenant}/activity/feed/subscriptions/start",
            params={"contentType": "Audit.Exchange"},
            json={"webhook": {"address": hook.address, "authId": AUTH_ID}},
            headers={"Authorization": f"Bearer {api.token}"},
            verify=str(parked_emulator.ca_cert_path),
            timeout=30,
        )
        assert response.status_code == 200
        parked_emulator.api.notifier.tick()
    assert len(hook.posts) == 1  # the validation only: older blobs are there to be listed


class _Poster:
    """Answers each POST with the next status of `statuses` (None = no answer), noting when."""

    def __init__(self, clock, statuses):
        self.clock, self.statuses, self.times = clock, list(statuses), []

    def post(self, address, body, headers):
        self.times.append(self.clock.now)
        return self.statuses.pop(0) if self.statuses else None


class _Clock:
    def __init__(self):
        self.now = 0.0


def _notifier(state, poster, clock, schedule):
    created = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    spec = BlobSpec(TENANT_ID, "Audit.Exchange", created, 0, created, created, 5, "a1")
    moments = iter([created - timedelta(minutes=1)] + [created + timedelta(minutes=1)] * 999)
    return WebhookNotifier(
        state=state,
        tenants=(),
        available=lambda tenant, kind, start, end: [spec],
        describe=lambda blob: {"contentId": blob.content_id, "contentCreated": "x"},
        poster=poster,
        now=lambda: next(moments),
        client_id="app",
        schedule=schedule,
        monotonic=lambda: clock.now,
    )


def test_retry_waits_double_up_to_the_cap_then_the_webhook_is_disabled():
    schedule = NotificationSchedule(
        first_retry_seconds=10, max_retry_seconds=40, give_up_seconds=200
    )
    state = SubscriptionState()
    webhook = {
        "status": "enabled",
        "address": "https://hook.example/",
        "authId": "",
        "expiration": None,
    }
    state.put(TENANT_ID, Subscription("Audit.Exchange", ENABLED, webhook))
    clock = _Clock()
    poster = _Poster(clock, [])
    notifier = _notifier(state, poster, clock, schedule)
    notifier.watch(TENANT_ID, "Audit.Exchange")
    while clock.now <= 400:
        notifier.tick()
        clock.now += 1
    waits = [later - earlier for earlier, later in pairwise(poster.times)]
    assert waits[:4] == [10, 20, 40, 40]
    assert poster.times[-1] >= schedule.give_up_seconds
    assert poster.times[-1] < schedule.give_up_seconds + schedule.max_retry_seconds
    subscription = state.get(TENANT_ID, "Audit.Exchange")
    assert subscription.status == ENABLED  # content can still be listed
    assert subscription.webhook["status"] == "disabled"
    assert notifier.pending() == 0


def test_an_expired_webhook_is_not_notified_and_is_listed_as_expired():
    state = SubscriptionState()
    webhook = {
        "status": "enabled",
        "address": "https://hook.example/",
        "authId": "",
        "expiration": "2026-11-20T10:00:00Z",
    }
    state.put(TENANT_ID, Subscription("Audit.Exchange", ENABLED, webhook))
    clock = _Clock()
    poster = _Poster(clock, [200])
    notifier = _notifier(state, poster, clock, NotificationSchedule())
    notifier.watch(TENANT_ID, "Audit.Exchange")
    notifier.tick()
    assert poster.times == []
    assert state.get(TENANT_ID, "Audit.Exchange").webhook["status"] == "expired"
