import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from o365_pipeline.definitions import INGEST_JOB_NAME, build_definitions
from o365_pipeline.defs.partitions import audit_partitions, sync_tenant_partitions
from o365_pipeline.tenants import DEMO_TENANTS

REPO = Path(__file__).resolve().parents[2]
defs = build_definitions()


def test_dagster_definitions_validate_passes_for_the_workspace():
    completed = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_definitions_hold_subscriptions_and_a_listing_and_table_per_content_type():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert "subscriptions" in keys
    assert {key for key in keys if key.startswith("content_listing/")} == {
        "content_listing/audit_azure_active_directory",
        "content_listing/audit_exchange",
        "content_listing/audit_sharepoint",
        "content_listing/audit_general",
        "content_listing/dlp_all",
    }
    assert len([key for key in keys if key.startswith("audit/")]) == 5


def _tick(instance):
    schedule = defs.resolve_schedule_def("hourly_audit_ingest")
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2026, 11, 25, 10, 15, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    return list(schedule.evaluate_tick(context).run_requests)


def _tenant_windows(requests, instance) -> set[tuple[str, str]]:
    """The (tenant, window) partitions the requested runs cover (ranged runs: a tenant block)."""
    partitions = audit_partitions()
    keys = [
        key
        for request in requests
        for key in partitions.get_partition_keys_in_range(
            dg.PartitionKeyRange(
                request.tags["dagster/asset_partition_range_start"],
                request.tags["dagster/asset_partition_range_end"],
            ),
            dynamic_partitions_store=instance,
        )
    ]
    return {(key.keys_by_dimension["tenant"], key.keys_by_dimension["window"]) for key in keys}


def test_hourly_schedule_requests_every_tenant_for_the_settled_windows():
    with dg.instance_for_test() as instance:
        sync_tenant_partitions(instance, DEMO_TENANTS)
        keys = _tenant_windows(_tick(instance), instance)
    assert keys == {
        (tenant.name, window)
        for tenant in DEMO_TENANTS
        for window in ("2026-11-25-08:00", "2026-11-25-09:00")
    }
    assert defs.resolve_schedule_def("hourly_audit_ingest").job_name == INGEST_JOB_NAME


def test_a_tenant_whose_partitions_were_removed_drops_out_of_the_schedule():
    with dg.instance_for_test() as instance:
        sync_tenant_partitions(instance, DEMO_TENANTS)
        sync_tenant_partitions(instance, DEMO_TENANTS[:1])
        tenants = {tenant for tenant, _ in _tenant_windows(_tick(instance), instance)}
    assert tenants == {DEMO_TENANTS[0].name}


def test_loading_the_code_location_says_when_runs_or_data_would_go_missing(tmp_path):
    """`dagster dev` without the data folder's instance, or over an empty data folder, warns."""
    from o365_pipeline.config import load_settings
    from o365_pipeline.definitions import surroundings_warnings

    data = tmp_path / "data"
    unset = surroundings_warnings(load_settings(data_dir=data, dagster_home=None))
    assert [w.split(":")[0] for w in unset] == [
        "DAGSTER_HOME is not set",
        f"No audit data under {data.resolve()} yet (O365_DATA_DIR)",
    ]
    other = surroundings_warnings(load_settings(data_dir=data, dagster_home=tmp_path / "other"))
    assert "is not this data folder's instance" in other[0]
    (data / "audit" / "content_type=Audit.Exchange" / "tenant=contoso").mkdir(parents=True)
    own = load_settings(data_dir=data, dagster_home=data / "dagster_home")
    assert surroundings_warnings(own) == []
