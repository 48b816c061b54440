"""The emulated Activity API answers like the real one, including its errors."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from o365_pipeline.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    start_emulator,
)

from ..conftest import TENANT_ID

FEED = f"/api/v1.0/{TENANT_ID}/activity/feed"


class Api:
    def __init__(self, emulator):
        self.emulator = emulator
        token = requests.post(
            f"{emulator.base_url}/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "scope": "https://manage.office.com/.default",
            },
            verify=str(emulator.ca_cert_path),
            timeout=10,
        ).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method, path, **params):
        url = path if path.startswith("https://") else f"{self.emulator.base_url}{FEED}/{path}"
        return requests.request(
            method,
            url,
            params=params,
            headers=self.headers,
            verify=str(self.emulator.ca_cert_path),
            timeout=10,
        )


@pytest.fixture
def api(emulator):
    client = Api(emulator)
    assert client.call("POST", "subscriptions/start", contentType="Audit.Exchange").ok
    return client


def _hour(hours_back):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours_back)


def _fmt(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def test_listing_items_have_the_live_shape(api):
    start = _hour(2)
    items = api.call(
        "GET",
        "subscriptions/content",
        contentType="Audit.Exchange",
        startTime=_fmt(start),
        endTime=_fmt(start + timedelta(hours=1)),
    ).json()
    item = items[0]
    assert set(item) == {
        "contentUri",
        "contentId",
        "contentType",
        "contentCreated",
        "contentExpiration",
    }
    assert item["contentUri"].endswith(f"/audit/{item['contentId']}")
    assert (
        item["contentId"].count("$") == 4 and "$audit_exchange$Audit_Exchange$" in item["contentId"]
    )
    assert item["contentCreated"].endswith("Z") and len(item["contentCreated"]) == 24


def test_blob_records_precede_their_content_created(api):
    start = _hour(2)
    item = api.call(
        "GET",
        "subscriptions/content",
        contentType="Audit.Exchange",
        startTime=_fmt(start),
        endTime=_fmt(start + timedelta(hours=1)),
    ).json()[0]
    records = api.call("GET", item["contentUri"]).json()
    created = datetime.fromisoformat(item["contentCreated"].replace("Z", "+00:00"))
    assert records
    for record in records:
        assert datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC) < created
        assert {
            "Id",
            "RecordType",
            "Operation",
            "OrganizationId",
            "UserType",
            "UserKey",
            "Workload",
            "UserId",
            "Version",
        } <= record.keys()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "AF20001"),
        ({"contentType": "Audit.Teams"}, "AF20020"),
        ({"contentType": "Audit.Exchange", "startTime": "2026-11-24T10:00"}, "AF20055"),
        (
            {"contentType": "Audit.Exchange", "startTime": "yesterday", "endTime": "today"},
            "AF20002",
        ),
        (
            {
                "contentType": "Audit.Exchange",
                "nextPage": "bogus",
                "startTime": "{s}",
                "endTime": "{e}",
            },
            "AF20031",
        ),
    ],
)
def test_invalid_listing_parameters_get_the_documented_codes(api, params, code):
    start = _hour(3)
    filled = {
        key: value.format(s=_fmt(start), e=_fmt(start + timedelta(hours=1)))
        for key, value in params.items()
    }
    response = api.call("GET", "subscriptions/content", **filled)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("start_back", "end_back"),
    [(30, 0), (2, 3), (24 * 8, 24 * 8 - 1)],
    ids=["longer-than-24h", "end-before-start", "older-than-7-days"],
)
def test_window_rules_are_enforced_with_af20055(api, start_back, end_back):
    response = api.call(
        "GET",
        "subscriptions/content",
        contentType="Audit.Exchange",
        startTime=_fmt(_hour(start_back)),
        endTime=_fmt(_hour(end_back)),
    )
    assert response.json()["error"]["code"] == "AF20055"


@pytest.mark.parametrize(
    "pattern",
    [
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S.123Z",
        "%Y-%m-%dT%H:%M:%SZ",
    ],
)
def test_documented_date_formats_are_accepted(api, pattern):
    start = (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    response = api.call(
        "GET",
        "subscriptions/content",
        contentType="Audit.Exchange",
        startTime=start.strftime(pattern),
        endTime=_fmt(start + timedelta(hours=1)),
    )
    assert response.status_code == 200, response.text


def test_unknown_and_malformed_content_ids_get_af20050_and_af20052(api):
    good_shape = (
        "20261124090000000000000$20261124091000000000000$audit_exchange$Audit_Exchange$na0099"
    )
    assert api.call("GET", f"audit/{good_shape}").json()["error"]["code"] == "AF20050"
    assert api.call("GET", "audit/not-an-id").json()["error"]["code"] == "AF20052"


def test_expired_content_gets_af20051(api, emulator):
    start = _hour(2)
    item = api.call(
        "GET",
        "subscriptions/content",
        contentType="Audit.Exchange",
        startTime=_fmt(start),
        endTime=_fmt(start + timedelta(hours=1)),
    ).json()[0]
    emulator.clock.advance(8 * 86400)
    api = Api(emulator)
    assert api.call("GET", item["contentUri"]).json()["error"]["code"] == "AF20051"


def test_a_stopped_subscription_is_listed_disabled_and_cannot_be_listed(api):
    assert api.call("POST", "subscriptions/stop", contentType="Audit.Exchange").status_code == 200
    subscriptions = api.call("GET", "subscriptions/list").json()
    assert subscriptions == [
        {"contentType": "Audit.Exchange", "status": "disabled", "webhook": None}
    ]
    response = api.call("GET", "subscriptions/content", contentType="Audit.Exchange")
    assert response.json()["error"]["code"] == "AF20022"


def test_a_non_guid_tenant_gets_af20013(api, emulator):
    response = requests.get(
        f"{emulator.base_url}/api/v1.0/contoso.onmicrosoft.com/activity/feed/subscriptions/list",
        headers=api.headers,
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )
    assert response.json()["error"]["code"] == "AF20013"


def test_a_token_for_another_tenant_gets_af20010(api, emulator):
    other = "2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11"
    response = requests.get(
        f"{emulator.base_url}/api/v1.0/{other}/activity/feed/subscriptions/list",
        headers=api.headers,
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )
    assert response.json()["error"]["code"] == "AF20010"


def test_same_configuration_gives_the_same_blobs_and_bytes(emulator):
    start = _hour(2)
    bodies = []
    for _ in range(2):
        with start_emulator(EmulatorConfig(records_per_hour=30)) as fresh:
            api = Api(fresh)
            api.call("POST", "subscriptions/start", contentType="Audit.SharePoint")
            items = api.call(
                "GET",
                "subscriptions/content",
                contentType="Audit.SharePoint",
                startTime=_fmt(start),
                endTime=_fmt(start + timedelta(hours=1)),
            ).json()
            bodies.append(
                [(item["contentId"], api.call("GET", item["contentUri"]).content) for item in items]
            )
    assert bodies[0] == bodies[1]


def test_ground_truth_endpoint_reports_the_ids_of_a_window(api, emulator):
    start = _hour(2)
    response = requests.get(
        f"{emulator.base_url}/_emulator/ground-truth",
        params={
            "tenantId": TENANT_ID,
            "contentType": "Audit.Exchange",
            "startTime": _fmt(start),
            "endTime": _fmt(start + timedelta(hours=1)),
        },
        verify=str(emulator.ca_cert_path),
        timeout=10,
    ).json()
    expected = emulator.ground_truth(TENANT_ID, "Audit.Exchange", start, start + timedelta(hours=1))
    assert response["count"] == len(expected) > 0
    assert set(response["ids"]) == expected
