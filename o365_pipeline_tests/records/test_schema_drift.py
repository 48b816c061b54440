"""Schema drift: new RecordTypes, Operations and fields, and values that change JSON kind, are
reported by name and count; the records themselves land unchanged."""

import json
from datetime import UTC, datetime

import pyarrow.parquet as pq

from o365_pipeline.pipeline.schema_report import report_schema_drift
from o365_pipeline.records.blob_reader import read_blob
from o365_pipeline.records.schema_drift import SchemaProfile, compare
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.partition_writer import AuditPartitionWriter
from o365_pipeline_tests.corpus import corpus, corpus_file

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)
BASE = {
    "CreationTime": "2026-11-25T08:10:00",
    "RecordType": 1,
    "Operation": "Send",
    "Workload": "Exchange",
}


def _land(tmp_path, records, name="part.parquet"):
    blob = tmp_path / f"{name}.json"
    blob.write_text(json.dumps(records))
    table = read_blob(
        blob,
        tenant="contoso",
        content_type="Audit.Exchange",
        content_id="blob-1",
        content_created=HOUR,
        ingested_at=HOUR,
    )
    target = tmp_path / name
    with AuditPartitionWriter(target) as writer:
        writer.write(table)
        writer.commit()
    return target


def _record(number, **fields):
    return {**BASE, "Id": f"00000000-0000-4000-8000-{number:012d}", **fields}


def test_first_sight_reports_only_undocumented_record_types(tmp_path):
    layout = DataLayout(tmp_path / "data")
    partition = _land(tmp_path, [_record(1), _record(2, RecordType=9999)])
    drift = report_schema_drift(layout, "Audit.Exchange", partition)
    assert drift.first_sight
    assert drift.undocumented_record_types == (9999,)
    assert drift.new_operations == () and drift.new_fields == ()
    assert layout.schema_catalog_file("Audit.Exchange").exists()


def test_new_operation_field_and_record_type_are_named_against_the_catalog(tmp_path):
    layout = DataLayout(tmp_path / "data")
    report_schema_drift(layout, "Audit.Exchange", _land(tmp_path, [_record(1)], "a.parquet"))
    later = _land(
        tmp_path,
        [_record(2, Operation="MailItemsAccessed", BrandNewField={"x": 1}, RecordType=50)],
        "b.parquet",
    )
    drift = report_schema_drift(layout, "Audit.Exchange", later)
    assert drift.new_operations == ("MailItemsAccessed",)
    assert drift.new_fields == ("BrandNewField",)
    assert drift.new_record_types == (50,)
    assert not drift.first_sight and drift.any
    again = report_schema_drift(layout, "Audit.Exchange", later)
    assert not again.any, "once seen, a name is no longer new"


def test_values_that_change_kind_land_unchanged_and_are_reported(tmp_path):
    records = [
        _record(1, ItemCount=3, Members=["a", "b"]),
        _record(2, ItemCount="3", Members="a;b"),
        _record(3, RecordType="1"),
    ]
    partition = _land(tmp_path, records)
    stored = pq.read_table(partition, columns=["raw_json", "RecordType"]).to_pylist()
    assert [json.loads(row["raw_json"]) for row in stored] == records
    assert {row["RecordType"] for row in stored} == {1}  # "1" typed like 1
    drift = compare(
        SchemaProfile.from_json({"field_kinds": {"ItemCount": ["number"], "Members": ["array"]}}),
        None,
    )
    assert drift.fields_of_varying_kind == {}
    drift = report_schema_drift(DataLayout(tmp_path / "data"), "Audit.Exchange", partition)
    assert drift.fields_of_varying_kind["ItemCount"] == ("number", "string")
    assert drift.fields_of_varying_kind["Members"] == ("array", "string")
    assert "RecordType" in drift.fields_of_varying_kind


@corpus
def test_the_corpus_variants_land_and_their_drift_is_reported(tmp_path):
    lines = [
        line
        for line in corpus_file("elastic-o365", "variants.ndjson").read_text().splitlines()
        if line.strip()
    ]
    records = [json.loads(line) for line in lines]
    records = [record for record in records if isinstance(record.get("Id"), str)]
    partition = _land(tmp_path, records)
    drift = report_schema_drift(DataLayout(tmp_path / "data"), "Audit.Exchange", partition)
    assert pq.read_metadata(partition).num_rows == len({record["Id"] for record in records})
    assert drift.fields_of_varying_kind, "the variants corpus mixes value kinds"
