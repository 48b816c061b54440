"""Landing service health incrementally (the core use case, no Dagster) against the emulator,
compared with its ground truth; and the doctor's check of the Graph permission."""

from datetime import UTC, datetime, timedelta

import pytest

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig, start_emulator
from o365_emulator.identity import ALL_ROLES
from o365_emulator.service_health import graph_time
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.service_communications import (
    ServiceCommunicationsClient,
    ServiceHealthPermissionError,
)
from o365_pipeline.api.settings import ClientSecret, ClientSettings, RetryPolicy
from o365_pipeline.pipeline.onboarding import diagnose
from o365_pipeline.pipeline.service_health import land_service_health, merge_latest
from o365_pipeline.storage.service_health_issues import issues_file, read_issues
from o365_pipeline.tenants import DEMO_TENANTS

TENANT = DEMO_TENANTS[0]


def _settings(emulator) -> ClientSettings:
    return ClientSettings(
        tenant_id=TENANT.tenant_id,
        client_id=DEFAULT_CLIENT_ID,
        credential=ClientSecret(DEFAULT_CLIENT_SECRET),
        api_base_url=emulator.base_url,
        login_base_url=emulator.base_url,
        graph_base_url=emulator.base_url,
        ca_bundle=str(emulator.ca_cert_path),
        retry=RetryPolicy(initial_backoff_seconds=0.01),
    )


def _truth(emulator) -> dict[str, dict]:
    now = emulator.clock.now()
    return {
        issue.issue_id: issue.as_resource(now)
        for issue in emulator.service_health.issues_at(TENANT.tenant_id, now)
    }


def _landed(root) -> dict[str, str]:
    rows = read_issues(issues_file(root, TENANT.name)).rows
    return {issue_id: graph_time(row["lastModifiedDateTime"]) for issue_id, row in rows.items()}


@pytest.fixture
def graph():
    with start_emulator(EmulatorConfig(graph_page_size=6)) as running:
        yield running


def test_two_runs_keep_each_issue_once_with_its_latest_version(graph, tmp_path):
    now = graph.clock.now()
    upcoming = graph.service_health.planned(TENANT.tenant_id, now, now + timedelta(days=7))[0]
    first, second = upcoming.changes[:2]
    client = ServiceCommunicationsClient(_settings(graph))

    graph.clock.advance((first - now).total_seconds() + 60)
    run1 = land_service_health(client, tmp_path, tenant=TENANT.name, clock=graph.clock.now)
    expected = {key: issue["lastModifiedDateTime"] for key, issue in _truth(graph).items()}
    assert _landed(tmp_path) == expected
    assert run1.since is None and run1.new == run1.stored == len(expected)

    graph.clock.advance((second - first).total_seconds())
    run2 = land_service_health(client, tmp_path, tenant=TENANT.name, clock=graph.clock.now)
    expected |= {key: issue["lastModifiedDateTime"] for key, issue in _truth(graph).items()}
    landed = read_issues(issues_file(tmp_path, TENANT.name))
    assert _landed(tmp_path) == expected
    assert _landed(tmp_path)[upcoming.issue_id] == graph_time(second)
    assert run2.since == run1.watermark - timedelta(hours=1)
    assert run2.updated >= 1 and run2.fetched < run1.fetched
    assert landed.watermark == max(row["lastModifiedDateTime"] for row in landed.rows.values())
    filters = [r.query for r in graph.requests() if r.path.endswith("/issues")]
    assert "lastModifiedDateTime" in filters[-1] and "filter" not in filters[0]


def test_a_run_with_nothing_new_rewrites_nothing(graph, tmp_path):
    client = ServiceCommunicationsClient(_settings(graph))
    land_service_health(client, tmp_path, tenant=TENANT.name, clock=graph.clock.now)
    path = issues_file(tmp_path, TENANT.name)
    written = path.stat().st_mtime_ns
    again = land_service_health(client, tmp_path, tenant=TENANT.name, clock=graph.clock.now)
    assert again.new == again.updated == 0 and path.stat().st_mtime_ns == written


def test_an_older_version_never_replaces_a_newer_one():
    newer = {"id": "EX1", "lastModifiedDateTime": datetime(2026, 11, 2, tzinfo=UTC)}
    older = {"id": "EX1", "lastModifiedDateTime": datetime(2026, 11, 1, tzinfo=UTC)}
    merged, new, updated = merge_latest({"EX1": newer}, [older])
    assert merged == {"EX1": newer} and (new, updated) == (0, 0)
    merged, new, updated = merge_latest({}, [older, newer, older])
    assert merged == {"EX1": newer} and (new, updated) == (1, 0)


def test_a_refused_run_keeps_nothing_and_says_which_permission(tmp_path):
    config = EmulatorConfig(tenant_roles=((TENANT.tenant_id, ALL_ROLES),))
    with start_emulator(config) as emulator:
        client = ServiceCommunicationsClient(_settings(emulator))
        with pytest.raises(ServiceHealthPermissionError, match="ServiceHealth.Read.All"):
            land_service_health(client, tmp_path, tenant=TENANT.name, clock=emulator.clock.now)
    assert not issues_file(tmp_path, TENANT.name).exists()


def test_the_doctor_names_a_missing_service_health_permission_in_one_line():
    config = EmulatorConfig(tenant_roles=((TENANT.tenant_id, ALL_ROLES),))
    with start_emulator(config) as emulator:
        findings = diagnose(ManagementApiClient(_settings(emulator)), datetime.now(UTC))
    (health,) = [finding for finding in findings if finding.check == "service health (Graph)"]
    assert not health.ok
    assert "lacks ServiceHealth.Read.All" in health.detail
    assert "Microsoft Graph application permission ServiceHealth.Read.All" in health.fix
    permissions = next(finding for finding in findings if finding.check == "permissions")
    assert permissions.ok  # the Management API's own permissions are all there


def test_the_doctor_passes_the_check_when_the_permission_is_granted(graph):
    findings = diagnose(ManagementApiClient(_settings(graph)), datetime.now(UTC))
    (health,) = [finding for finding in findings if finding.check == "service health (Graph)"]
    assert health.ok and "5 service(s)" in health.detail
