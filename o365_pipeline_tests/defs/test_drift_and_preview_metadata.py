"""The audit assets' metadata as a person reads it in the UI: the preview as a typed table,
schema drift as a table of names, and drift raised as a WARN check (records land either way)."""

from datetime import UTC, datetime

import dagster as dg

from o365_pipeline.defs.checks import NO_SCHEMA_DRIFT, schema_drift_result
from o365_pipeline.defs.metadata import drift_metadata, preview_table
from o365_pipeline.pipeline.partition_summary import summarize_partition
from o365_pipeline.pipeline.schema_report import report_schema_drift
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.partition_writer import AuditPartitionWriter

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)
KEY = dg.AssetKey(["audit", "audit_exchange"])
BASE = {
    "CreationTime": "2026-11-25T08:10:00",
    "RecordType": 2,
    "Operation": "Send",
    "Workload": "Exchange",
    "UserId": "megan@contoso.example",
}


def _land(layout, records, hour=HOUR):
    batch = records_table(
        records,
        tenant="contoso",
        content_type="Audit.Exchange",
        content_id=f"blob-{hour:%H}",
        content_created=hour,
        ingested_at=hour,
    )
    path = layout.audit_file("Audit.Exchange", "contoso", hour)
    with AuditPartitionWriter(path) as writer:
        writer.write(batch)
        writer.commit()
    return path


def _record(number, **fields):
    return {**BASE, "Id": f"00000000-0000-4000-8000-{number:012d}", **fields}


def _drift_after(tmp_path, later_records):
    layout = DataLayout(tmp_path)
    report_schema_drift(layout, "Audit.Exchange", _land(layout, [_record(1), _record(2)]))
    later = _land(layout, later_records, HOUR.replace(hour=10))
    return report_schema_drift(layout, "Audit.Exchange", later)


def test_drift_check_warns_naming_a_new_field(tmp_path):
    drift = _drift_after(tmp_path, [_record(3, BrandNewField={"x": 1}), _record(4)])

    result = schema_drift_result(KEY, drift)

    assert result.check_name == NO_SCHEMA_DRIFT
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert "BrandNewField" in result.description
    table = result.metadata["schema_drift"]
    assert isinstance(table, dg.TableMetadataValue)
    assert [record.data for record in table.records] == [
        {"change": "new field", "name": "BrandNewField", "json_kinds": ""}
    ]
    assert result.metadata["schema_drift_new_fields"].value == 1


def test_drift_check_passes_when_the_records_show_nothing_new(tmp_path):
    drift = _drift_after(tmp_path, [_record(3), _record(4, Operation="Send")])

    result = schema_drift_result(KEY, drift)

    assert result.passed and result.description is None
    assert result.metadata["schema_drift"].records == []


def test_fields_whose_kind_changed_are_rows_with_their_kinds(tmp_path):
    layout = DataLayout(tmp_path)
    partition = _land(layout, [_record(1, ItemCount=3), _record(2, ItemCount="3")])
    drift = report_schema_drift(layout, "Audit.Exchange", partition)

    rows = [record.data for record in drift_metadata(drift)["schema_drift"].value.records]

    assert {
        "change": "field of varying kind",
        "name": "ItemCount",
        "json_kinds": "number, string",
    } in rows


def test_preview_is_a_table_of_every_typed_column_with_typed_timestamps(tmp_path):
    path = _land(DataLayout(tmp_path), [_record(1, ClientIP="203.0.113.7:443"), _record(2)])

    preview = preview_table(summarize_partition(path).preview)

    assert isinstance(preview, dg.TableMetadataValue)
    columns = {column.name: column for column in preview.schema.columns}
    assert list(columns) == [name for name in AUDIT_SCHEMA.names if name != "raw_json"]
    for name in ("CreationTime", "content_created", "ingested_at"):
        assert columns[name].type == "timestamp"
    assert columns["RecordType"].type == "int" and columns["Id"].constraints.unique
    first = preview.records[0].data
    assert datetime.fromisoformat(first["CreationTime"]) == datetime(
        2026, 11, 25, 8, 10, tzinfo=UTC
    )
    assert first["ClientIP"] == "203.0.113.7:443" and first["RecordType"] == 2
    assert first["tenant"] == "contoso" and first["UserId"] == "megan@contoso.example"
