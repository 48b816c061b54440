from datetime import timedelta

import dagster as dg
import duckdb
import pytest

from o365_pipeline.defs.assets import audit_key
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.damage import plant_copy

from .conftest import EXCHANGE

CONTOSO = DEMO_TENANTS[0]


def _landed(data_dir, query):
    files = sorted(data_dir.glob("audit/**/*.parquet"))
    assert files, "no Parquet was written"
    with duckdb.connect() as connection:
        paths = [str(path) for path in files]
        return connection.execute(query.replace("{files}", f"read_parquet({paths!r})")).fetchall()


def test_audit_partition_lands_every_ground_truth_id_exactly_once(pipeline, last_complete_hour):
    pipeline.materialize_window(CONTOSO.name, last_complete_hour)

    truth = pipeline.emulator.ground_truth(
        CONTOSO.tenant_id,
        EXCHANGE.name,
        last_complete_hour,
        last_complete_hour + timedelta(hours=1),
    )
    rows = _landed(pipeline.data_dir, "SELECT Id FROM {files}")
    ids = [row[0] for row in rows]
    assert truth, "the emulator should have content for the last complete hour"
    assert len(ids) == len(set(ids))
    assert set(ids) == truth


def test_rematerializing_a_partition_yields_the_same_rows_and_no_duplicates(
    pipeline, last_complete_hour
):
    pipeline.materialize_window(CONTOSO.name, last_complete_hour)
    first = _landed(pipeline.data_dir, "SELECT Id, raw_json FROM {files} ORDER BY Id")
    pipeline.materialize_window(CONTOSO.name, last_complete_hour)
    second = _landed(pipeline.data_dir, "SELECT Id, raw_json FROM {files} ORDER BY Id")

    assert second == first
    assert len(list(pipeline.data_dir.glob("audit/**/*.parquet"))) == 1


def test_window_older_than_retention_fails_naming_the_seven_day_limit(pipeline):
    partitions = pipeline.assets[1].partitions_def
    oldest = partitions.get_partition_keys()[0].keys_by_dimension["window"]
    from datetime import UTC, datetime

    window_start = datetime.strptime(oldest, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
    result = pipeline.materialize_window(CONTOSO.name, window_start, raise_on_error=False)

    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    message = failure.step_failure_data.error.to_string()
    assert "7 days" in message or "seven days" in message
    assert not list(pipeline.data_dir.glob("audit/**/*.parquet"))


def test_asset_checks_pass_for_a_complete_partition(pipeline, last_complete_hour):
    result = pipeline.materialize_window(CONTOSO.name, last_complete_hour)

    evaluations = result.get_asset_check_evaluations()
    assert {evaluation.check_name for evaluation in evaluations} == {
        "ids_unique",
        "all_listed_blobs_fetched",
        "partition_has_every_listed_blob",
        "partition_file_matches_ledger",
        "no_schema_drift",
    }
    assert all(evaluation.passed for evaluation in evaluations)


def test_file_matches_ledger_check_fails_naming_a_parquet_file_planted_beside_the_partition(
    pipeline, last_complete_hour
):
    pipeline.materialize_window(CONTOSO.name, last_complete_hour)
    audit_file = DataLayout(pipeline.data_dir).audit_file(
        EXCHANGE.name, CONTOSO.name, last_complete_hour
    )
    planted = audit_file.with_name("planted.parquet")
    plant_copy(audit_file, planted)

    result = pipeline.materialize_window(CONTOSO.name, last_complete_hour)

    (evaluation,) = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "partition_file_matches_ledger"
    ]
    assert not evaluation.passed
    (finding,) = evaluation.metadata["findings"].value
    assert finding["kind"] == "unrecorded_file"
    assert finding["path"] == planted.relative_to(pipeline.data_dir).as_posix()


def test_materialization_metadata_reports_records_blobs_duplicates_and_preview(
    pipeline, last_complete_hour
):
    result = pipeline.materialize_window(CONTOSO.name, last_complete_hour)

    materialization = next(
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == audit_key(EXCHANGE)
    )
    metadata = materialization.metadata
    written = metadata["records_written"].value
    assert written == len(_landed(pipeline.data_dir, "SELECT Id FROM {files}"))
    assert metadata["records_read"].value == written + metadata["duplicates_dropped"].value
    assert metadata["blobs_fetched"].value == metadata["blobs_listed"].value > 0
    assert metadata["api_requests"].value >= 1 + metadata["blobs_fetched"].value
    assert metadata["api_retries"].value == 0
    preview = metadata["preview"]
    assert isinstance(preview, dg.TableMetadataValue) and preview.records
    types = {column.name: column.type for column in preview.schema.columns}
    assert types["Id"] == "string" and types["CreationTime"] == "timestamp"
    assert materialization.asset_key == audit_key(EXCHANGE)
    assert metadata["schema_drift_first_sight"].value is True
    assert isinstance(metadata["schema_drift"], dg.TableMetadataValue)
    assert metadata["schema_drift_undocumented_record_types"].value == 0
    assert metadata["schema_drift_new_fields"].value == 0


@pytest.mark.parametrize("tenant", [tenant.name for tenant in DEMO_TENANTS])
def test_each_tenant_lands_in_its_own_partition_folder(pipeline, last_complete_hour, tenant):
    pipeline.materialize_window(tenant, last_complete_hour)

    (path,) = pipeline.data_dir.glob("audit/**/*.parquet")
    assert f"tenant={tenant}" in str(path)
    assert f"hour={last_complete_hour:%H}" in str(path)


def test_freshness_check_names_the_tenant_without_recent_data(pipeline, last_complete_hour):
    from o365_pipeline.defs.checks import build_freshness_check
    from o365_pipeline.tenants.directory import StaticTenants

    pipeline.materialize_window(CONTOSO.name, last_complete_hour)
    check = build_freshness_check(
        audit_key(EXCHANGE), EXCHANGE.name, StaticTenants(DEMO_TENANTS), timedelta(hours=6)
    )
    job = dg.define_asset_job("fresh", selection=dg.AssetSelection.checks(check))
    defs = dg.Definitions(
        assets=pipeline.assets, asset_checks=[check], jobs=[job], resources=pipeline.resources
    )
    result = defs.resolve_job_def("fresh").execute_in_process(instance=pipeline.instance)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["stale_tenants"].value == ["fabrikam"]
    assert evaluation.metadata["newest_content_created"].value["contoso"] is not None
