"""The emulated Activity API enforces the live service's rules with its error codes."""

from datetime import timedelta

import pytest
import requests

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator_tests.conftest import Api, api_text, error_code, hour_ago
from o365_pipeline_tests.fixtures import TENANT_ID

OTHER_TENANT = "2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11"


def test_starting_a_subscription_answers_enabled_without_webhook(api):
    response = api.start("Audit.SharePoint")
    assert response.status_code == 200
    assert response.json() == {
        "contentType": "Audit.SharePoint",
        "status": "enabled",
        "webhook": None,
    }


def test_starting_an_enabled_subscription_again_gets_af20024(subscribed):
    response = subscribed.start()
    assert response.status_code == 400
    assert error_code(response) == "AF20024"


def test_stop_answers_200_with_an_empty_body_and_list_shows_disabled(subscribed):
    stop = subscribed.call("POST", "subscriptions/stop", contentType="Audit.Exchange")
    assert (stop.status_code, stop.content) == (200, b"")
    assert subscribed.call("GET", "subscriptions/list").json() == [
        {"contentType": "Audit.Exchange", "status": "disabled", "webhook": None}
    ]


def test_listing_a_stopped_subscription_gets_af20022(subscribed):
    subscribed.call("POST", "subscriptions/stop", contentType="Audit.Exchange")
    assert error_code(subscribed.content()) == "AF20022"


def test_a_start_with_a_json_content_type_and_no_body_is_accepted(api):
    response = api.call(
        "POST",
        "subscriptions/start",
        contentType="Audit.General",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200


def test_a_webhook_address_that_is_not_https_gets_af20021(api):
    response = requests.post(
        f"{api.emulator.base_url}/api/v1.0/{TENANT_ID}/activity/feed/subscriptions/start",
        params={"contentType": "DLP.All"},
        json={"webhook": {"address": "http://collector.example/hook"}},
        headers={"Authorization": f"Bearer {api.token}"},
        verify=str(api.emulator.ca_cert_path),
        timeout=10,
    )
    assert error_code(response) == "AF20021"


def test_listing_before_subscribing_gets_af20022(api):
    response = api.content()
    assert response.status_code == 400
    assert error_code(response) == "AF20022"


def test_subscription_state_file_is_shared_between_emulators(tmp_path):
    config = EmulatorConfig(state_path=tmp_path / "subscriptions.json")
    with start_emulator(config) as first, start_emulator(config) as second:
        assert Api(first).start().status_code == 200
        assert error_code(Api(second).start()) == "AF20024"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"contentType": None}, "AF20001"),
        ({"contentType": "Audit.Teams"}, "AF20020"),
        ({"startTime": "{s}"}, "AF20055"),
        ({"startTime": "{e}", "endTime": "{s}"}, "AF20055"),
        ({"startTime": "{long}", "endTime": "{e}"}, "AF20055"),
        ({"startTime": "{old}", "endTime": "{old_end}"}, "AF20055"),
        ({"startTime": "yesterday", "endTime": "{e}"}, "AF20002"),
        ({"startTime": "{s}", "endTime": "2026-13-01"}, "AF20002"),
        ({"startTime": "{s}", "endTime": "{e}", "nextPage": "bogus"}, "AF20031"),
    ],
    ids=[
        "missing-content-type",
        "invalid-content-type",
        "start-without-end",
        "end-before-start",
        "longer-than-24h",
        "older-than-7-days",
        "malformed-start",
        "malformed-end",
        "bad-next-page",
    ],
)
def test_listing_rule_violations_get_the_documented_codes(subscribed, params, code):
    values = {
        "s": api_text(hour_ago(3)),
        "e": api_text(hour_ago(2)),
        "long": api_text(hour_ago(27)),
        "old": api_text(hour_ago(24 * 8)),
        "old_end": api_text(hour_ago(24 * 8 - 1)),
    }
    query = {"contentType": "Audit.Exchange"}
    query.update({key: value and value.format(**values) for key, value in params.items()})
    response = subscribed.call("GET", "subscriptions/content", **query)
    assert response.status_code == 400
    assert error_code(response) == code


@pytest.mark.parametrize(
    "pattern",
    ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.123Z",
     "%Y-%m-%dT%H:%M:%S.1234567", "%Y-%m-%dT%H:%M:%SZ"],
)  # fmt: skip
def test_documented_date_forms_are_accepted(subscribed, pattern):
    start = hour_ago(3)  # date-only reads as that day's midnight: still within 24 h of end
    response = subscribed.content(
        startTime=start.strftime(pattern), endTime=api_text(start + timedelta(hours=1))
    )
    assert response.status_code == 200, response.text


def test_query_parameter_names_match_case_insensitively(subscribed):
    response = subscribed.call(
        "GET",
        "subscriptions/content",
        CONTENTTYPE="Audit.Exchange",
        starttime=api_text(hour_ago(3)),
        ENDTIME=api_text(hour_ago(2)),
        publisheridentifier=TENANT_ID,
    )
    assert response.status_code == 200


def test_a_non_guid_tenant_gets_af20013(api):
    response = Api(api.emulator, tenant="contoso", token=api.token).call(
        "GET", "subscriptions/list"
    )
    assert error_code(response) == "AF20013"


def test_an_unknown_tenant_gets_af20011(api):
    unknown = "0b1f0e2d-0000-4000-8000-000000000000"
    response = Api(api.emulator, tenant=unknown, token=api.token).call("GET", "subscriptions/list")
    assert error_code(response) == "AF20011"


def test_a_token_for_another_tenant_gets_401_af20010(api):
    response = Api(api.emulator, tenant=OTHER_TENANT, token=api.token).call(
        "GET", "subscriptions/list"
    )
    assert response.status_code == 401
    assert error_code(response) == "AF20010"


def test_a_token_without_activity_feed_read_gets_401_af10001():
    with start_emulator(EmulatorConfig(granted_roles=("ServiceHealth.Read",))) as emulator:
        response = Api(emulator).call("GET", "subscriptions/list")
    assert response.status_code == 401
    assert error_code(response) == "AF10001"


def test_answers_carry_the_live_service_headers(api):
    response = api.call("GET", "subscriptions/list")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Server"] == "Microsoft-IIS/10.0"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Date" in response.headers and "Retry-After" not in response.headers


def test_notifications_are_empty_without_a_webhook(subscribed):
    response = subscribed.call("GET", "subscriptions/notifications", contentType="Audit.Exchange")
    assert response.json() == []


def test_dlp_sensitive_types_lists_ids_and_names(api):
    types = api.call("GET", "resources/dlpSensitiveTypes").json()
    assert types and all(set(item) == {"id", "name"} for item in types)
