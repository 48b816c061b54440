"""Forms that clients working against Microsoft send, which the emulator must accept too (and
the ones the service refuses, which it must keep refusing)."""

from datetime import timedelta

import pytest
import requests

from o365_emulator_tests.conftest import api_text, error_code, hour_ago


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(subscribed, scheme):
    response = requests.get(
        f"{subscribed.emulator.base_url}/api/v1.0/{subscribed.tenant}/activity/feed/"
        "subscriptions/list",
        headers={"Authorization": f"{scheme} {subscribed.token}"},
        verify=str(subscribed.emulator.ca_cert_path),
        timeout=30,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("scheme", ["Basic", "Bearer", "Token"])
def test_other_schemes_or_no_token_are_refused(subscribed, scheme):
    header = f"{scheme} " if scheme == "Bearer" else f"{scheme} {subscribed.token}"
    response = requests.get(
        f"{subscribed.emulator.base_url}/api/v1.0/{subscribed.tenant}/activity/feed/"
        "subscriptions/list",
        headers={"Authorization": header},
        verify=str(subscribed.emulator.ca_cert_path),
        timeout=30,
    )
    assert response.status_code == 401


def _content_ids(response):
    assert response.status_code == 200, response.text
    return sorted(blob["contentId"] for blob in response.json())


def _plain_window(subscribed):
    """A two-hour window and its listing asked for in the plain documented form."""
    start = hour_ago(3)
    end = start + timedelta(hours=2)
    plain = subscribed.content(startTime=api_text(start), endTime=api_text(end))
    return start, end, _content_ids(plain)


def test_python_isoformat_times_list_the_same_window_as_the_plain_form(subscribed):
    start, end, plain = _plain_window(subscribed)
    iso = subscribed.content(
        startTime=start.isoformat(timespec="microseconds"),  # …T09:00:00.000000+00:00
        endTime=end.isoformat(),
    )
    assert plain and _content_ids(iso) == plain


def test_an_offset_is_converted_to_utc(subscribed):
    start, end, plain = _plain_window(subscribed)
    shifted = subscribed.content(
        startTime=(start + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S+05:00"),
        endTime=(end - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S-02:00"),
    )
    assert _content_ids(shifted) == plain


@pytest.mark.parametrize("text", ["2026-12-01T25:00:00", "2026-12-01T09:13:59+25:00", "soon"])
def test_times_that_are_not_times_stay_af20002(subscribed, text):
    response = subscribed.content(startTime=text, endTime=api_text(hour_ago(1)))
    assert response.status_code == 400 and error_code(response) == "AF20002"
