"""The code location runs as a deployment runs it: a reconstructed job on a persistent
instance, its client built from the environment, and every step of a partition's run in the
one run process (the in-process executor: no step pays a process spawn and a code load)."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_emulator import EmulatorConfig, start_emulator
from o365_pipeline.defs.partitions import partition_key_for, sync_tenant_partitions
from o365_pipeline_tests.emulator_access import client_for, point_environment_at

TENANT_ID = "5f4e3d2c-1b0a-4987-a6b5-c4d3e2f1a0b9"
SECRET = "multiprocess-secret"


def ingest_job() -> dg.JobDefinition:
    """Rebuilt in every step process from the environment (what a deployment does)."""
    from o365_pipeline.definitions import INGEST_JOB_NAME, build_definitions

    return build_definitions().resolve_job_def(INGEST_JOB_NAME)


def test_one_partition_runs_every_step_in_the_run_process(tmp_path, monkeypatch):
    config = EmulatorConfig(tenants=(TENANT_ID,), client_secret=SECRET, records_per_hour=20)
    with start_emulator(config) as api:
        point_environment_at(
            monkeypatch, api, tenant_id=TENANT_ID, secret=SECRET, data_dir=tmp_path / "data"
        )
        from o365_pipeline.config import load_settings
        from o365_pipeline.tenants.directory import directory_for

        client = client_for(api, tenant_id=TENANT_ID, secret=SECRET)
        for kind in (
            "Audit.AzureActiveDirectory",
            "Audit.Exchange",
            "Audit.SharePoint",
            "Audit.General",
            "DLP.All",
        ):
            client.start_subscription(kind)
        client.close()
        window = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
        key = partition_key_for("acme", window)
        (tmp_path / "dagster_home").mkdir()
        with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
            sync_tenant_partitions(instance, directory_for(load_settings()).all())
            with dg.execute_job(
                dg.reconstructable(ingest_job),
                instance=instance,
                tags={"dagster/partition": str(key)},
            ) as result:
                assert result.success
                pids = {
                    event.pid
                    for event in result.all_events
                    if event.event_type_value == "STEP_START"
                }
    assert len(pids) == 1, "every step should run in the run's own process"
    assert len(list((tmp_path / "data").glob("audit/*/tenant=acme/*/*/part.parquet"))) == 5
