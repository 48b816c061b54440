"""Listings page through NextPageUri, blobs hold real-shaped records, and both are
deterministic and agree with the emulator's ground truth.
"""

import json
from datetime import UTC, datetime, timedelta

import requests

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator_tests.conftest import Api, api_text, error_code, hour_ago
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline_tests.fixtures import TENANT_ID

COMMON_FIELDS = {"Id", "RecordType", "CreationTime", "Operation", "OrganizationId", "UserType",
                 "UserKey", "Workload", "UserId", "Version"}  # fmt: skip


def _all_pages(api, **params):
    pages, response = [], api.content(**params)
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if "NextPageUri" not in response.headers:
            return pages
        response = api.call("GET", response.headers["NextPageUri"])


def _first_item(api, hours_back=3):
    start = hour_ago(hours_back)
    return api.content(
        startTime=api_text(start), endTime=api_text(start + timedelta(hours=1))
    ).json()[0]


def test_listing_follows_next_page_uri_and_matches_ground_truth(emulator, subscribed):
    start, end = hour_ago(6), hour_ago(0)
    pages = _all_pages(subscribed, startTime=api_text(start), endTime=api_text(end))
    items = [item for page in pages for item in page]
    assert len(pages) > 2 and all(len(page) <= 3 for page in pages)
    assert len({item["contentId"] for item in items}) == len(items)
    ids = set()
    for item in items:
        ids |= {record["Id"] for record in subscribed.call("GET", item["contentUri"]).json()}
    assert ids == emulator.ground_truth(TENANT_ID, "Audit.Exchange", start, end)


def test_next_page_uri_repeats_the_window_and_publisher(subscribed):
    response = subscribed.content(
        startTime=api_text(hour_ago(6)),
        endTime=api_text(hour_ago(0)),
        PublisherIdentifier=TENANT_ID,
    )
    next_page = response.headers["NextPageUri"]
    assert next_page.startswith(f"{subscribed.emulator.base_url}/api/v1.0/{TENANT_ID}/")
    assert f"startTime={api_text(hour_ago(6))}" in next_page
    assert f"PublisherIdentifier={TENANT_ID}" in next_page and "nextPage=" in next_page


def test_listing_without_times_covers_the_last_24_hours(emulator, subscribed):
    items = [item for page in _all_pages(subscribed) for item in page]
    now = emulator.clock.now()
    created = [datetime.fromisoformat(item["contentCreated"]) for item in items]
    assert items and all(now - timedelta(hours=24) <= moment <= now for moment in created)


def test_listing_items_have_the_live_shape(subscribed):
    item = _first_item(subscribed)
    assert list(item) == ["contentUri", "contentId", "contentType", "contentCreated",
                          "contentExpiration"]  # fmt: skip
    start, end, slug, name, shard = item["contentId"].split("$")
    assert (len(start), len(end), slug, name, shard[:2]) == (23, 23, "audit_exchange",
                                                             "Audit_Exchange", "na")  # fmt: skip
    assert item["contentUri"].endswith(f"/audit/{item['contentId']}")
    created = datetime.fromisoformat(item["contentCreated"])
    expiration = datetime.fromisoformat(item["contentExpiration"])
    assert expiration - created == timedelta(days=7)
    assert len(item["contentCreated"]) == 24 and item["contentCreated"].endswith("Z")


def test_blob_records_have_the_common_fields_and_precede_content_created(subscribed):
    item = _first_item(subscribed)
    records = subscribed.call("GET", item["contentUri"]).json()
    created = datetime.fromisoformat(item["contentCreated"])
    assert records
    for record in records:
        assert COMMON_FIELDS <= record.keys()
        assert record["OrganizationId"] == TENANT_ID
        assert datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC) < created


def test_a_percent_encoded_content_uri_is_served_the_same_blob(subscribed):
    item = _first_item(subscribed)
    encoded = item["contentUri"].replace("$", "%24")
    plain = subscribed.call("GET", item["contentUri"], PublisherIdentifier=TENANT_ID)
    assert subscribed.call("GET", encoded).content == plain.content


def test_a_well_formed_but_unknown_content_id_gets_af20050(subscribed):
    unknown = _first_item(subscribed)["contentId"][:-4] + "9999"
    assert error_code(subscribed.call("GET", f"audit/{unknown}")) == "AF20050"


def test_a_malformed_content_id_gets_af20052(subscribed):
    assert error_code(subscribed.call("GET", "audit/not-an-id")) == "AF20052"


def test_content_past_its_expiration_gets_af20051(emulator, subscribed):
    item = _first_item(subscribed)
    emulator.clock.advance(7 * 86400 + 3 * 3600)
    response = Api(emulator).call("GET", item["contentUri"])
    assert (response.status_code, error_code(response)) == (400, "AF20051")


def test_blobs_of_the_future_are_neither_listed_nor_served(emulator, subscribed):
    later = emulator.api._content.blobs_for_hour(  # a blob created an hour from now
        TENANT_ID, CONTENT_TYPES[1], hour_ago(-1)
    )[0]
    response = subscribed.call("GET", f"audit/{later.content_id}")
    assert error_code(response) == "AF20050"


def test_two_emulators_with_one_config_list_and_serve_the_same_bytes():
    window = {"startTime": api_text(hour_ago(4)), "endTime": api_text(hour_ago(1))}
    seen = []
    for _ in range(2):
        with start_emulator(EmulatorConfig(records_per_hour=30, page_size=100)) as emulator:
            api = Api(emulator)
            api.start("Audit.SharePoint")
            items = api.content("Audit.SharePoint", **window).json()
            blobs = [api.call("GET", item["contentUri"]).content for item in items]
            seen.append(([item["contentId"] for item in items], blobs))
    assert seen[0] == seen[1] and seen[0][0]


def test_the_http_ground_truth_matches_the_python_api(emulator):
    start, end = hour_ago(5), hour_ago(1)
    response = requests.get(
        f"{emulator.base_url}/_emulator/ground-truth",
        params={"tenantId": TENANT_ID, "contentType": "DLP.All",
                "startTime": api_text(start), "endTime": api_text(end)},
        verify=str(emulator.ca_cert_path),
        timeout=10,
    ).json()  # fmt: skip
    assert set(response["ids"]) == emulator.ground_truth(TENANT_ID, "DLP.All", start, end)
    assert response["count"] == len(response["ids"]) > 0


def test_dlp_detections_need_activity_feed_read_dlp():
    config = EmulatorConfig(granted_roles=("ActivityFeed.Read",))
    with start_emulator(config) as emulator:
        api = Api(emulator)
        api.start("DLP.All")
        start = hour_ago(3)
        items = api.content("DLP.All", startTime=api_text(start),
                            endTime=api_text(start + timedelta(hours=1))).json()  # fmt: skip
        body = api.call("GET", items[0]["contentUri"]).text
    assert "SensitiveInformationDetections" not in body
    assert json.loads(body)[0]["SensitiveInfoDetectionIsIncluded"] is False
