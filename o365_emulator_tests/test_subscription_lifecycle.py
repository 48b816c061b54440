"""Stopping and restarting a subscription, and the notification history, answer as the
reference says.

Office 365 Management Activity API reference, "Stop a subscription" and "List notifications":
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference
("If the subscription is later restarted, you will have access to new content from that point
forward. You will not be able to retrieve content that was available between the time the
subscription was stopped and restarted."; for notifications, the same startTime/endTime rules
as the listing, and "We return an error if the subscription status is disabled").
"""

import pytest

from o365_emulator_tests.conftest import api_text, error_code, hour_ago


def _stop(api, content_type="Audit.Exchange"):
    assert api.call("POST", "subscriptions/stop", contentType=content_type).status_code == 200


def _window(api):
    return api.content(startTime=api_text(hour_ago(4)), endTime=api_text(hour_ago(1)))


def test_content_from_before_a_stop_is_not_listed_after_a_restart(subscribed):
    before = _window(subscribed)
    assert before.status_code == 200 and before.json(), "the first start backfills"
    _stop(subscribed)
    assert subscribed.start().status_code == 200
    after = _window(subscribed)
    assert after.status_code == 200
    assert after.json() == []
    assert subscribed.content().json() == []  # the default last 24 hours, too


def test_a_blob_from_before_a_stop_cannot_be_fetched_after_a_restart(subscribed):
    content_uri = _window(subscribed).json()[0]["contentUri"]
    assert subscribed.call("GET", content_uri).status_code == 200
    _stop(subscribed)
    assert subscribed.start().status_code == 200
    response = subscribed.call("GET", content_uri)
    assert response.status_code == 400 and error_code(response) == "AF20050"


def test_ground_truth_follows_the_restart(subscribed):
    start, end = hour_ago(4), hour_ago(1)
    assert subscribed.emulator.ground_truth(subscribed.tenant, "Audit.Exchange", start, end)
    _stop(subscribed)
    subscribed.start()
    assert not subscribed.emulator.ground_truth(subscribed.tenant, "Audit.Exchange", start, end)


def _notifications(api, content_type="Audit.Exchange", **params):
    return api.call("GET", "subscriptions/notifications", contentType=content_type, **params)


def test_notifications_of_a_stopped_subscription_get_af20022(subscribed):
    _stop(subscribed)
    response = _notifications(subscribed)
    assert response.status_code == 400 and error_code(response) == "AF20022"


def test_notifications_of_a_never_started_type_get_af20022(subscribed):
    response = _notifications(subscribed, "Audit.SharePoint")
    assert response.status_code == 400 and error_code(response) == "AF20022"


@pytest.mark.parametrize(
    ("start_hours", "end_hours"),
    [(3, None), (None, 2), (2, 3), (27, 2), (24 * 8, 24 * 8 - 1)],
    ids=["start-without-end", "end-without-start", "end-before-start", "over-24h", "over-7-days"],
)
def test_notification_windows_follow_the_listing_rules(subscribed, start_hours, end_hours):
    params = {}
    if start_hours is not None:
        params["startTime"] = api_text(hour_ago(start_hours))
    if end_hours is not None:
        params["endTime"] = api_text(hour_ago(end_hours))
    response = _notifications(subscribed, **params)
    assert response.status_code == 400 and error_code(response) == "AF20055"


def test_a_valid_notification_window_answers_an_empty_history(subscribed):
    response = _notifications(
        subscribed, startTime=api_text(hour_ago(3)), endTime=api_text(hour_ago(2))
    )
    assert (response.status_code, response.json()) == (200, [])


def test_a_notification_time_that_is_not_a_time_gets_af20002(subscribed):
    response = _notifications(subscribed, startTime="soon", endTime=api_text(hour_ago(1)))
    assert response.status_code == 400 and error_code(response) == "AF20002"
