"""Pointing the pipeline at another API (here a standalone emulator standing in for a real
tenant) takes environment variables only; the secret never shows up in what Dagster records."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_emulator import EmulatorConfig, start_emulator
from o365_pipeline.config import load_settings
from o365_pipeline.defs.assets import SUBSCRIPTIONS_KEY
from o365_pipeline.defs.partitions import partition_key_for, sync_tenant_partitions
from o365_pipeline.tenants.directory import directory_for
from o365_pipeline_tests.emulator_access import point_environment_at

TENANT_ID = "3c9d2b7e-55aa-4c1f-9e0b-8f2d6a1c4e77"
SECRET = "real-looking-secret-value-1234567890"


def test_environment_variables_alone_switch_the_pipeline_to_another_tenant(tmp_path, monkeypatch):
    config = EmulatorConfig(tenants=(TENANT_ID,), client_secret=SECRET, records_per_hour=20)
    with start_emulator(config) as api:
        point_environment_at(
            monkeypatch, api, tenant_id=TENANT_ID, secret=SECRET, data_dir=tmp_path
        )
        from o365_pipeline.definitions import (
            INGEST_JOB_NAME,
            build_definitions,
        )

        defs = build_definitions()
        window = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        with dg.DagsterInstance.ephemeral() as instance:
            sync_tenant_partitions(instance, directory_for(load_settings()).all())
            defs.resolve_implicit_global_asset_job_def().execute_in_process(
                asset_selection=[SUBSCRIPTIONS_KEY], instance=instance
            )
            result = defs.resolve_job_def(INGEST_JOB_NAME).execute_in_process(
                partition_key=partition_key_for("acme", window), instance=instance
            )
            records = instance.get_records_for_run(result.run_id, limit=10_000).records
            logged = " ".join(repr(record.event_log_entry) for record in records)

    assert result.success
    assert len(list(tmp_path.glob("audit/*/tenant=acme/*/*/part.parquet"))) == 5
    assert not list(tmp_path.glob(".emulator"))  # the embedded emulator was never started
    assert SECRET not in logged
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
