"""Injected faults: throttling the way the live service throttles."""

from .conftest import error_code, fetch_token


def test_throttle_answers_429_with_retry_after_and_af429(emulator, api):
    emulator.faults.throttle_next(1, retry_after_seconds=7)
    response = api.call("GET", "subscriptions/list", PublisherIdentifier="pub-1")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert error_code(response) == "AF429"
    assert "Method=ListSubscriptions, PublisherId=pub-1" in response.json()["error"]["message"]


def test_throttle_can_answer_403_without_retry_after_as_documented(emulator, api):
    emulator.faults.throttle_next(1, retry_after_seconds=None, status=403)
    response = api.call("GET", "subscriptions/list")
    assert response.status_code == 403 and "Retry-After" not in response.headers


def test_throttle_is_used_up_by_api_calls_only(emulator, api):
    emulator.faults.throttle_next(1)
    assert fetch_token(emulator).status_code == 200  # token requests are Entra's: not faulted
    assert api.call("GET", "subscriptions/list").status_code == 429
    assert api.call("GET", "subscriptions/list").status_code == 200


def test_the_request_log_records_method_path_query_and_status(emulator, api):
    api.call("GET", "subscriptions/list", PublisherIdentifier="x")
    logged = emulator.requests()[-1]
    assert (logged.method, logged.status, logged.query) == ("GET", 200, "PublisherIdentifier=x")
    assert logged.path.endswith("/activity/feed/subscriptions/list")
