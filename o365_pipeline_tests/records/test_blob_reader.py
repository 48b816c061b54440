import json
from datetime import UTC, datetime

import pytest

from o365_pipeline.records.blob_reader import MalformedBlobError, read_blob
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline_tests.corpus import corpus, corpus_file

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)


def _read(path, content_id="blob-1"):
    return read_blob(
        path,
        tenant="contoso",
        content_type="Audit.General",
        content_id=content_id,
        content_created=HOUR,
        ingested_at=HOUR,
    )


def _corpus_lines():
    lines = []
    for name in ("records.ndjson", "variants.ndjson"):
        lines += [
            line
            for line in corpus_file("elastic-o365", name).read_text().splitlines()
            if line.strip()
        ]
    return [
        line
        for line in lines
        if isinstance(json.loads(line), dict) and isinstance(json.loads(line).get("Id"), str)
    ]


@corpus
def test_raw_json_is_each_records_exact_original_text(tmp_path):
    lines = _corpus_lines()
    blob = tmp_path / "blob.json"
    blob.write_text("[\n" + ",\n".join(lines) + "\n]")
    table = _read(blob)
    assert table.schema == AUDIT_SCHEMA
    assert table.column("raw_json").to_pylist() == lines


def test_drifting_types_are_coerced_or_nulled_and_names_resolved(tmp_path):
    blob = tmp_path / "blob.json"
    blob.write_text(
        json.dumps(
            [
                {
                    "Id": "a",
                    "RecordType": "15",
                    "CreationTime": "2026-11-20T10:15:02",
                    "UserType": 0,
                },
                {"Id": "b", "RecordType": 9999, "CreationTime": "2026-11-20T10:15:02.500Z"},
                {"Id": "c", "RecordType": "x", "CreationTime": "not a time", "ObjectId": ["x", 1]},
            ]
        )
    )
    rows = _read(blob).to_pylist()
    assert [(row["RecordType"], row["RecordTypeName"]) for row in rows] == [
        (15, "AzureActiveDirectoryStsLogon"),
        (9999, None),
        (None, None),
    ]
    assert rows[0]["CreationTime"] == datetime(2026, 11, 20, 10, 15, 2, tzinfo=UTC)
    assert rows[1]["CreationTime"] == datetime(2026, 11, 20, 10, 15, 2, 500000, tzinfo=UTC)
    assert rows[2]["CreationTime"] is None and rows[2]["ObjectId"] == '["x",1]'
    assert (rows[0]["tenant"], rows[0]["content_id"]) == ("contoso", "blob-1")


@pytest.mark.parametrize("element", ["5", '{"NoId": 1}', '{"Id": 42}', '"text"'])
def test_an_element_that_is_not_a_record_names_the_blob_and_index(tmp_path, element):
    blob = tmp_path / "blob.json"
    blob.write_text(f'[{{"Id": "ok"}}, {element}]')
    with pytest.raises(MalformedBlobError, match=r"Element 1 of blob blob-7"):
        _read(blob, content_id="blob-7")


@pytest.mark.parametrize("body", ['[{"Id": "a"}, {"Id": "b"', '{"Id": "a"}', "<html>"])
def test_a_body_that_is_not_a_json_array_is_malformed(tmp_path, body):
    blob = tmp_path / "blob.json"
    blob.write_text(body)
    with pytest.raises(MalformedBlobError, match="blob-1"):
        _read(blob)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"  \r\n\t ",
        b"[",
        b'[{"Id": "a"},',
        b'[{"Id": "a"}, ',
        b'[{"Id": "a"}',
        b'[{"Id": "a"},]',
        b'[{"Id": "a"}, {"Id": "b", "x": [1, 2]',
    ],
)
def test_a_cut_body_is_malformed_whatever_its_framing_said(tmp_path, body):
    """The bytes on disk are exactly what arrived, so a Content-Length that matched them says
    nothing: only a complete array is a complete blob."""
    blob = tmp_path / "blob.json"
    blob.write_bytes(body)
    with pytest.raises(MalformedBlobError, match="blob-1"):
        _read(blob)


def test_whitespace_and_a_byte_order_mark_around_the_array_are_allowed(tmp_path):
    blob = tmp_path / "blob.json"
    blob.write_bytes(b'\xef\xbb\xbf \n[ {"Id": "a"} ,\n {"Id": "b"} ]\r\n')
    assert _read(blob).column("Id").to_pylist() == ["a", "b"]


def test_an_empty_blob_is_an_empty_table(tmp_path):
    blob = tmp_path / "blob.json"
    blob.write_text("[]")
    assert _read(blob).num_rows == 0


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T10:15:02",
        "2026-11-20T10:15:02Z",
        "2026-11-20T10:15:02.000Z",
        "2026-11-20T11:15:02+01:00",
    ],
)
def test_creation_time_variants_all_land_as_the_same_utc_instant(text):
    from o365_pipeline.records.blob_reader import records_table

    table = records_table(
        [{"Id": "a", "CreationTime": text}],
        tenant="t",
        content_type="Audit.General",
        content_id="b",
        content_created=HOUR,
        ingested_at=HOUR,
    )
    assert table.column("CreationTime")[0].as_py() == datetime(2026, 11, 20, 10, 15, 2, tzinfo=UTC)
