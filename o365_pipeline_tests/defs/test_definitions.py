import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from o365_pipeline.definitions import INGEST_JOB_NAME, defs
from o365_pipeline.tenants import DEMO_TENANTS

REPO = Path(__file__).resolve().parents[2]


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


def test_hourly_schedule_requests_every_tenant_for_the_settled_windows():
    schedule = defs.resolve_schedule_def("hourly_audit_ingest")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 25, 10, 15, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    requests = list(schedule.evaluate_tick(context).run_requests)
    keys = {
        (
            request.partition_key.keys_by_dimension["tenant"],
            request.partition_key.keys_by_dimension["window"],
        )
        for request in requests
    }
    assert keys == {
        (tenant.name, window)
        for tenant in DEMO_TENANTS
        for window in ("2026-11-25-08:00", "2026-11-25-09:00")
    }
    assert schedule.job_name == INGEST_JOB_NAME
