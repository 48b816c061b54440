"""Microsoft Graph's service communications API as the emulator plays it, over real loopback
HTTPS: Graph tokens and their roles, paging by `@odata.nextLink`, `$filter` on
`lastModifiedDateTime`, Graph's error shapes, and the deterministic incident schedule."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator.identity import ALL_ROLES, GRAPH_RESOURCES
from o365_emulator.service_health import WORKLOADS, ServiceHealthTimeline, graph_time
from o365_emulator_tests.conftest import fetch_token
from o365_pipeline.api.clouds import CLOUDS
from o365_pipeline_tests.fixtures import TENANT_ID

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ISSUES = "/v1.0/admin/serviceAnnouncement/issues"


def _graph_token(emulator, tenant=TENANT_ID, scope=GRAPH_SCOPE):
    answer = fetch_token(emulator, tenant, scope=scope)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _get(emulator, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = path if path.startswith("https://") else f"{emulator.base_url}{path}"
    return requests.get(
        url, headers=headers, params=params, verify=str(emulator.ca_cert_path), timeout=30
    )


def _all_pages(emulator, token, **params):
    pages, answer = [], _get(emulator, ISSUES, token, **params)
    while True:
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        link = pages[-1].get("@odata.nextLink")
        if not link:
            return pages
        answer = _get(emulator, link, token)


@pytest.fixture
def graph():
    with start_emulator(EmulatorConfig(graph_page_size=5)) as running:
        yield running


def test_a_graph_token_carries_only_graph_roles_and_a_management_token_none_of_them(graph):
    graph_claims = jwt.decode(_graph_token(graph), options={"verify_signature": False})
    management = fetch_token(graph).json()["access_token"]
    management_claims = jwt.decode(management, options={"verify_signature": False})
    assert graph_claims["aud"] == "https://graph.microsoft.com"
    assert graph_claims["roles"] == ["ServiceHealth.Read.All"]
    assert management_claims["roles"] == list(ALL_ROLES)


def test_issues_come_in_pages_linked_by_odata_next_link_and_add_up_to_the_ground_truth(graph):
    pages = _all_pages(graph, _graph_token(graph))
    ids = [issue["id"] for page in pages for issue in page["value"]]
    truth = graph.service_health.issues_at(TENANT_ID, graph.clock.now())
    assert len(pages) > 2 and all(len(page["value"]) <= 5 for page in pages)
    assert len(ids) == len(set(ids))
    assert set(ids) == {issue.issue_id for issue in truth}
    assert all(page["@odata.nextLink"].startswith(graph.base_url) for page in pages[:-1])
    assert "@odata.nextLink" not in pages[-1]


def test_prefer_odata_maxpagesize_shortens_pages(graph):
    answer = requests.get(
        f"{graph.base_url}{ISSUES}",
        headers={"Authorization": f"Bearer {_graph_token(graph)}", "Prefer": "odata.maxpagesize=2"},
        verify=str(graph.ca_cert_path),
        timeout=30,
    )
    assert len(answer.json()["value"]) == 2


def test_an_issue_updated_later_reappears_in_a_query_filtered_on_last_modified(graph):
    now = graph.clock.now()
    upcoming = graph.service_health.planned(TENANT_ID, now, now + timedelta(days=7))[0]
    first, second = upcoming.changes[:2]
    graph.clock.advance((first - now).total_seconds() + 60)
    token = _graph_token(graph)
    seen = {issue["id"]: issue for page in _all_pages(graph, token) for issue in page["value"]}
    watermark = max(issue["lastModifiedDateTime"] for issue in seen.values())
    assert seen[upcoming.issue_id]["status"] == "investigating"
    graph.clock.advance((second - first).total_seconds())
    token = _graph_token(graph)
    since = _all_pages(graph, token, **{"$filter": f"lastModifiedDateTime ge {watermark}"})
    changed = {issue["id"]: issue for page in since for issue in page["value"]}
    assert upcoming.issue_id in changed
    assert changed[upcoming.issue_id]["lastModifiedDateTime"] == graph_time(second)
    assert all(issue["lastModifiedDateTime"] >= watermark for issue in changed.values())
    assert len(changed[upcoming.issue_id]["posts"]) == 2


def test_a_quoted_date_literal_is_refused_as_graph_refuses_it(graph):
    answer = _get(
        graph,
        ISSUES,
        _graph_token(graph),
        **{"$filter": "lastModifiedDateTime ge '2026-11-20T00:00:00Z'"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert "incompatible types" in answer.json()["error"]["message"]


def test_no_token_or_a_management_api_token_gets_401_invalid_authentication_token(graph):
    missing = _get(graph, ISSUES)
    wrong_audience = _get(graph, ISSUES, fetch_token(graph).json()["access_token"])
    assert missing.status_code == wrong_audience.status_code == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert missing.json()["error"]["message"] == "Access token is empty."
    assert "Invalid audience" in wrong_audience.json()["error"]["message"]
    assert set(wrong_audience.json()["error"]["innerError"]) == {
        "date",
        "request-id",
        "client-request-id",
    }


def test_a_tenant_without_service_health_read_all_gets_403():
    config = EmulatorConfig(tenant_roles=((TENANT_ID, ALL_ROLES),))
    with start_emulator(config) as emulator:
        answer = _get(emulator, ISSUES, _graph_token(emulator))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "AccessDenied"  # a token without any Graph role


def test_health_overviews_name_each_service_and_its_status(graph):
    answer = _get(graph, "/v1.0/admin/serviceAnnouncement/healthOverviews", _graph_token(graph))
    services = {item["service"]: item for item in answer.json()["value"]}
    assert {workload.service for workload in WORKLOADS} <= set(services)
    assert services["Exchange Online"]["id"] == "Exchange"


def test_messages_are_served_and_filtered_on_last_modified_too(graph):
    token = _graph_token(graph)
    everything = _get(graph, "/v1.0/admin/serviceAnnouncement/messages", token)
    none = _get(
        graph,
        "/v1.0/admin/serviceAnnouncement/messages",
        token,
        **{"$filter": "lastModifiedDateTime ge 2100-01-01T00:00:00Z"},
    )
    assert everything.status_code == 200 and everything.json()["value"]
    assert none.json()["value"] == []


def test_a_gcc_high_tenant_gets_a_token_only_for_its_own_clouds_graph():
    config = EmulatorConfig(tenant_clouds=((TENANT_ID, "gcc_high"),))
    with start_emulator(config) as emulator:
        worldwide = fetch_token(emulator, scope=GRAPH_SCOPE)
        own = _graph_token(emulator, scope="https://graph.microsoft.us/.default")
        answer = _get(emulator, ISSUES, own)
    assert worldwide.status_code == 400 and worldwide.json()["error_codes"] == [650052]
    assert answer.status_code == 200


def test_the_emulators_graph_hosts_are_the_clients_cloud_table():
    assert GRAPH_RESOURCES == {name: cloud.graph_base_url for name, cloud in CLOUDS.items()}


def test_every_96_hours_hold_the_start_of_an_exchange_online_issue():
    timeline = ServiceHealthTimeline(seed=0)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    issues = [
        issue
        for issue in timeline.planned(TENANT_ID, start, start + timedelta(days=70))
        if issue.workload.service == "Exchange Online"
    ]
    gaps = [b.start - a.start for a, b in zip(issues, issues[1:], strict=False)]
    assert len(issues) >= 29 and max(gaps) <= timedelta(hours=96)


def test_the_same_seed_and_tenant_give_the_same_issues_and_another_tenant_others():
    at = datetime(2026, 11, 25, 12, tzinfo=UTC)
    first = [i.as_resource(at) for i in ServiceHealthTimeline(seed=1).issues_at(TENANT_ID, at)]
    again = [i.as_resource(at) for i in ServiceHealthTimeline(seed=1).issues_at(TENANT_ID, at)]
    other = ServiceHealthTimeline(seed=1).issues_at("2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11", at)
    assert first == again and first
    assert {issue["id"] for issue in first} != {issue.issue_id for issue in other}


def test_the_ground_truth_endpoint_lists_what_the_api_lists(graph):
    truth = _get(graph, "/_emulator/service-health/issues", tenantId=TENANT_ID).json()
    listed = [issue for page in _all_pages(graph, _graph_token(graph)) for issue in page["value"]]
    assert sorted(issue["id"] for issue in truth["issues"]) == sorted(i["id"] for i in listed)
