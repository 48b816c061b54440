"""Injected faults: throttling the way the live service throttles."""

from datetime import UTC, datetime

from o365_emulator_tests.conftest import error_code, fetch_token


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


# -- the switchable fault set -----------------------------------------------------------------

import json  # noqa: E402
from urllib.parse import parse_qsl, urlsplit  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402

from o365_emulator.budget import RequestBudget  # noqa: E402
from o365_emulator.fault_rules import FaultSpecError, make_rule, parse_fault  # noqa: E402
from o365_emulator_tests.conftest import api_text, hour_ago  # noqa: E402


def _listing(api, hours_back=3):
    api.start()
    return api.content(startTime=api_text(hour_ago(hours_back)), endTime=api_text(hour_ago(0)))


def _first_blob_uri(api):
    return _listing(api).json()[0]["contentUri"]


def _all_pages(api, params):
    response, ids = api.content(**params), []
    while True:
        ids += [item["contentId"] for item in response.json()]
        if "NextPageUri" not in response.headers:
            return ids
        response = api.call("GET", response.headers["NextPageUri"])


def _control(emulator, method, path, payload=None):
    return requests.request(
        method,
        f"{emulator.base_url}/_emulator/{path}",
        data=json.dumps(payload) if payload is not None else None,
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )


def test_server_error_burst_hits_count_requests_then_stops(emulator, api):
    emulator.add_faults(make_rule("server_error", count=2, status=503))
    statuses = [api.call("GET", "subscriptions/list").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_reset_closes_the_connection_without_an_answer(emulator, api):
    emulator.add_faults(make_rule("reset"))
    with pytest.raises(requests.ConnectionError):
        api.call("GET", "subscriptions/list")
    assert api.call("GET", "subscriptions/list").status_code == 200


def test_slow_answer_trips_a_short_client_timeout(emulator, api):
    uri = _first_blob_uri(api)
    emulator.add_faults(make_rule("slow", seconds=1.0))
    with pytest.raises(requests.Timeout):
        requests.get(
            uri,
            headers={"Authorization": f"Bearer {api.token}"},
            verify=str(emulator.ca_cert_path),
            timeout=0.3,
        )


def test_truncated_blob_announces_the_full_length_but_sends_less(emulator, api):
    uri = _first_blob_uri(api)
    whole = api.call("GET", uri).content
    emulator.add_faults(make_rule("truncate", keep=0.25))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.call("GET", uri).content  # noqa: B018 - reading the body is the point
    assert api.call("GET", uri).content == whole


def test_invalid_json_blob_is_a_200_whose_body_does_not_parse(emulator, api):
    uri = _first_blob_uri(api)
    emulator.add_faults(make_rule("invalid_json"))
    response = api.call("GET", uri)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_missing_blob_is_listed_but_answers_404(emulator, api):
    uri = _first_blob_uri(api)
    emulator.add_faults(make_rule("missing_blob"))
    response = api.call("GET", uri)
    assert response.status_code == 404 and error_code(response) == "AF20050"
    assert api.call("GET", uri).status_code == 200


def test_repeat_page_points_next_page_uri_at_the_same_page(emulator, api):
    api.start()
    params = {"startTime": api_text(hour_ago(6)), "endTime": api_text(hour_ago(0))}
    emulator.add_faults(make_rule("repeat_page"))
    first = api.content(**params)
    again = api.call("GET", first.headers["NextPageUri"])
    assert again.json() == first.json()
    assert again.headers["NextPageUri"] != first.headers["NextPageUri"]


def test_recased_next_page_uri_changes_every_query_name_and_still_works(emulator, api):
    api.start()
    params = {"startTime": api_text(hour_ago(6)), "endTime": api_text(hour_ago(0))}
    normal = api.call("GET", api.content(**params).headers["NextPageUri"]).json()
    emulator.add_faults(make_rule("recase_next_page"))
    recased_uri = api.content(**params).headers["NextPageUri"]
    names = [name for name, _ in parse_qsl(urlsplit(recased_uri).query)]
    assert "STARTTIME" in names and "NEXTPAGE" in names and "startTime" not in names
    assert api.call("GET", recased_uri).json() == normal


def test_late_blob_is_missing_from_the_first_listing_of_a_window_only(emulator, api):
    api.start()
    params = {"startTime": api_text(hour_ago(2)), "endTime": api_text(hour_ago(1))}
    emulator.add_faults(make_rule("late_blob", count="all"))
    first, second = _all_pages(api, params), _all_pages(api, params)
    assert second[:-1] == first and len(second) == len(first) + 1


def test_expire_token_revokes_the_presented_token(emulator, api):
    emulator.add_faults(make_rule("expire_token"))
    assert api.call("GET", "subscriptions/list").status_code == 401
    assert api.call("GET", "subscriptions/list").status_code == 401  # that token stays dead
    api.token = fetch_token(emulator).json()["access_token"]
    assert api.call("GET", "subscriptions/list").status_code == 200


def test_huge_blob_grows_the_first_blob_of_each_hour_and_the_ground_truth(emulator, api):
    start, end = hour_ago(2), hour_ago(1)
    before = emulator.ground_truth(api.tenant, "Audit.Exchange", start, end)
    emulator.add_faults(make_rule("huge_blob", records=2_000))
    after = emulator.ground_truth(api.tenant, "Audit.Exchange", start, end)
    assert len(after) >= len(before) + 2_000
    api.start()
    items = api.content(startTime=api_text(start), endTime=api_text(end)).json()
    assert len(api.call("GET", items[0]["contentUri"]).json()) >= 2_000


def test_duplicates_switch_raises_redeliveries_without_new_ids(emulator, api):
    start, end = hour_ago(3), hour_ago(2)

    def delivered():
        records, response = [], api.content(startTime=api_text(start), endTime=api_text(end))
        while True:
            for item in response.json():
                records += api.call("GET", item["contentUri"]).json()
            if "NextPageUri" not in response.headers:
                return [record["Id"] for record in records]
            response = api.call("GET", response.headers["NextPageUri"])

    api.start()
    normal = delivered()
    emulator.add_faults(make_rule("duplicates", fraction=0.6))
    ids = delivered()
    assert len(ids) - len(set(ids)) > len(normal) - len(set(normal))
    assert set(ids) == emulator.ground_truth(api.tenant, "Audit.Exchange", start, end)


def test_probability_is_seeded_and_hits_about_that_share(emulator, api):
    emulator.add_faults(make_rule("server_error", count="all", probability=0.3, status=500))
    statuses = [api.call("GET", "subscriptions/list").status_code for _ in range(40)]
    assert 4 <= statuses.count(500) <= 24 and statuses.count(200) >= 16


def test_control_endpoint_switches_faults_on_lists_them_and_clears_them(emulator, api):
    answer = _control(emulator, "POST", "faults", [{"kind": "server_error", "count": 1}])
    assert answer.status_code == 200
    assert answer.json()["faults"][0]["kind"] == "server_error"
    assert api.call("GET", "subscriptions/list").status_code == 503
    assert _control(emulator, "GET", "faults").json()["hits"] == {"server_error": 1}
    _control(emulator, "POST", "faults", {"kind": "reset", "count": "all"})
    assert _control(emulator, "DELETE", "faults").json()["faults"] == []
    assert api.call("GET", "subscriptions/list").status_code == 200


def test_control_endpoint_refuses_an_unknown_fault_with_a_clear_error(emulator):
    answer = _control(emulator, "POST", "faults", [{"kind": "gremlins"}])
    assert answer.status_code == 400
    assert "unknown fault 'gremlins'" in answer.json()["error_description"]


def test_control_endpoint_skews_the_clock_and_the_date_header(emulator, api):
    _control(emulator, "POST", "clock", {"offset_seconds": -7200})
    date = api.call("GET", "subscriptions/list").headers["Date"]
    from email.utils import parsedate_to_datetime

    skew = (parsedate_to_datetime(date) - datetime.now(UTC)).total_seconds()
    assert -7210 < skew < -7190


def test_cli_fault_syntax_parses_options_and_rejects_typos():
    rule = parse_fault("server_error:count=3,status=500,probability=0.5")
    assert (rule.kind, rule.count, rule.probability, rule.options["status"]) == (
        "server_error",
        3,
        0.5,
        500,
    )
    assert parse_fault("reset:count=all").count is None
    with pytest.raises(FaultSpecError, match="unknown option"):
        parse_fault("slow:secs=3")
    with pytest.raises(FaultSpecError, match="target must be"):
        parse_fault("reset:target=token")


def test_budget_counts_per_publisher_and_gives_the_wait_until_the_window_reopens():
    budget = RequestBudget(per_publisher=3, without_publisher=1, window_seconds=60)
    assert [budget.charge("t", "pub", 0.0) for _ in range(3)] == [None, None, None]
    assert budget.charge("t", "pub", 10.0) == 50
    assert budget.charge("t", "other-pub", 10.0) is None  # another publisher, another budget
    assert budget.charge("t", None, 10.0) is None
    assert budget.charge("t", None, 11.0) == 59  # the anonymous budget is smaller
    assert budget.charge("t", "pub", 60.0) is None  # a new window


def test_over_budget_the_api_answers_429_with_retry_after(emulator, api):
    emulator.budget = RequestBudget(per_publisher=2, without_publisher=1)
    statuses = [
        api.call("GET", "subscriptions/list", PublisherIdentifier="p").status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    anonymous = [api.call("GET", "subscriptions/list") for _ in range(2)]
    assert [response.status_code for response in anonymous] == [200, 429]
    assert 1 <= int(anonymous[1].headers["Retry-After"]) <= 60
    assert error_code(anonymous[1]) == "AF429"
