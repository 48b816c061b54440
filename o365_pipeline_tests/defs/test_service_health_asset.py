"""The `service_health` asset through Dagster, against the emulator over loopback HTTPS
(configured as for a real tenant, with O365_GRAPH_BASE_URL's resource field): two runs land
the emulator's issues exactly once, the later version of an updated issue replacing the
earlier; a missing permission fails the run with a description naming it."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator.identity import ALL_ROLES
from o365_emulator.service_health import graph_time
from o365_pipeline.definitions import build_definitions
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.defs.service_health import (
    SERVICE_HEALTH_JOB_NAME,
    build_service_health_asset,
    tenant_partitions,
)
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import api_resource_for

TENANT = DEMO_TENANTS[0]


def _materialize(emulator, tmp_path, instance, raise_on_error=True):
    partitions = tenant_partitions(DEMO_TENANTS)
    return dg.materialize(
        [build_service_health_asset(DEMO_TENANTS, partitions)],
        resources={
            "management_api": api_resource_for(
                emulator, tmp_path, graph_base_url=emulator.base_url
            ),
            "storage": StorageResource(data_dir=str(tmp_path)),
        },
        instance=instance,
        partition_key=TENANT.name,
        raise_on_error=raise_on_error,
    )


def _truth(emulator) -> dict[str, str]:
    now = emulator.clock.now()
    return {
        issue.issue_id: issue.as_resource(now)["lastModifiedDateTime"]
        for issue in emulator.service_health.issues_at(TENANT.tenant_id, now)
    }


def _landed(tmp_path) -> list[tuple[str, str]]:
    with connect(tmp_path) as connection:
        rows = connection.execute(
            "SELECT id, lastModifiedDateTime FROM service_health_issues WHERE tenant = ?",
            [TENANT.name],
        ).fetchall()
    return [(issue_id, graph_time(modified)) for issue_id, modified in rows]


def test_the_asset_lands_the_emulators_issues_exactly_once_across_two_runs(tmp_path):
    with start_emulator(EmulatorConfig(graph_page_size=5)) as emulator:
        now = emulator.clock.now()
        upcoming = emulator.service_health.planned(TENANT.tenant_id, now, now + timedelta(days=7))[
            0
        ]
        first, second = upcoming.changes[:2]
        with dg.DagsterInstance.ephemeral() as instance:
            emulator.clock.advance((first - now).total_seconds() + 60)
            one = _materialize(emulator, tmp_path, instance)
            expected = _truth(emulator)
            emulator.clock.advance((second - first).total_seconds())
            two = _materialize(emulator, tmp_path, instance)
            expected |= _truth(emulator)
    landed = _landed(tmp_path)
    assert len(landed) == len({issue_id for issue_id, _ in landed})  # nothing twice
    assert dict(landed) == expected
    assert dict(landed)[upcoming.issue_id] == graph_time(second)
    first_run = one.asset_materializations_for_node("service_health")[0].metadata
    second_run = two.asset_materializations_for_node("service_health")[0].metadata
    assert first_run["issues_new"].value == len(dict(landed)) - second_run["issues_new"].value
    assert second_run["issues_updated"].value >= 1


def test_a_missing_service_health_permission_fails_the_run_naming_it(tmp_path):
    config = EmulatorConfig(tenant_roles=((TENANT.tenant_id, ALL_ROLES),))
    with start_emulator(config) as emulator, dg.DagsterInstance.ephemeral() as instance:
        result = _materialize(emulator, tmp_path, instance, raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    description = failure.step_failure_data.error.message
    assert "ServiceHealth.Read.All" in description and "admin consent" in description


def test_the_hourly_schedule_asks_for_every_tenant_once_per_tick():
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("hourly_service_health")
    tick = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant.name for tenant in DEMO_TENANTS[:1]])
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick,
            repository_def=defs.get_repository_def(),
        )
        requests = list(schedule.evaluate_tick(context).run_requests)
    assert schedule.job_name == SERVICE_HEALTH_JOB_NAME
    assert [request.partition_key for request in requests] == [DEMO_TENANTS[0].name]
    assert requests[0].run_key == f"{DEMO_TENANTS[0].name}@2026-11-25T10:05"
    assert schedule.cron_schedule == "5 * * * *"


@pytest.mark.parametrize("static", [True, False])
def test_partitions_are_one_per_tenant(static):
    partitions = tenant_partitions(DEMO_TENANTS if static else None)
    assert isinstance(
        partitions,
        dg.StaticPartitionsDefinition if static else dg.DynamicPartitionsDefinition,
    )
