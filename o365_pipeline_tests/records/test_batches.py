import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from o365_pipeline.records.batches import (
    MalformedRecordError,
    parse_creation_time,
    records_to_batch,
)
from o365_pipeline.records.record_types import record_type_name
from o365_pipeline.records.schema import AUDIT_SCHEMA

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "elastic-o365"
NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


def _batch(records, content_id="blob-1"):
    return records_to_batch(
        records,
        tenant="contoso",
        content_type="Audit.Exchange",
        content_id=content_id,
        content_created=NOW,
        ingested_at=NOW,
    )


def _corpus():
    records = []
    for name in ("records.ndjson", "variants.ndjson"):
        for line in (CORPUS / name).read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    return [
        record
        for record in records
        if isinstance(record, dict) and isinstance(record.get("Id"), str)
    ]


def test_every_corpus_record_with_an_id_converts_and_keeps_its_original_json():
    records = _corpus()
    batch = _batch(records)
    assert batch.schema == AUDIT_SCHEMA
    assert batch.num_rows == len(records) > 200
    assert [json.loads(text) for text in batch.column("raw_json").to_pylist()] == records


def test_common_fields_are_typed():
    batch = _batch(
        [
            {
                "Id": "a",
                "CreationTime": "2026-11-20T10:15:02",
                "RecordType": 15,
                "Operation": "UserLoggedIn",
                "UserType": 0,
                "ClientIP": "1.2.3.4:5678",
                "ResultStatus": "Success",
                "Workload": "AzureActiveDirectory",
            }
        ]
    )
    row = batch.to_pylist()[0]
    assert row["CreationTime"] == datetime(2026, 11, 20, 10, 15, 2, tzinfo=UTC)
    assert row["RecordType"] == 15 and row["RecordTypeName"] == "AzureActiveDirectoryStsLogon"
    assert row["ClientIP"] == "1.2.3.4:5678"
    assert (row["tenant"], row["content_id"]) == ("contoso", "blob-1")


@pytest.mark.parametrize(("value", "expected"), [("15", 15), (15, 15), ("x", None), (True, None)])
def test_record_type_drift_is_coerced_or_nulled_without_error(value, expected):
    assert _batch([{"Id": "a", "RecordType": value}]).column("RecordType")[0].as_py() == expected


def test_unknown_record_types_keep_their_number_and_have_no_name():
    row = _batch([{"Id": "a", "RecordType": 9999}]).to_pylist()[0]
    assert (row["RecordType"], row["RecordTypeName"]) == (9999, None)
    assert record_type_name(261) == "CopilotInteraction"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T10:15:02",
        "2026-11-20T10:15:02Z",
        "2026-11-20T10:15:02.000Z",
        "2026-11-20T11:15:02+01:00",
    ],
)
def test_creation_time_variants_all_parse_to_the_same_utc_instant(text):
    assert parse_creation_time(text) == datetime(2026, 11, 20, 10, 15, 2, tzinfo=UTC)


def test_non_string_values_of_string_columns_land_as_text():
    row = _batch([{"Id": "a", "ResultStatus": True, "ObjectId": ["x", 1]}]).to_pylist()[0]
    assert row["ResultStatus"] == "True" and row["ObjectId"] == '["x",1]'


@pytest.mark.parametrize("bad", [["not", "a", "record"], {"NoId": 1}, {"Id": 42}])
def test_a_malformed_element_names_the_blob_and_its_index(bad):
    with pytest.raises(MalformedRecordError, match=r"Element 1 of blob blob-9"):
        _batch([{"Id": "ok"}, bad], content_id="blob-9")
