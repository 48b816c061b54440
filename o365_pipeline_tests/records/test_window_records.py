"""A window's blobs converted in one load: listing order and blob order kept (so the first
delivery of a repeated Id is the one kept), large blobs read from their pieces in place, and a
body that is not records named with its position in the window."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from o365_pipeline.records import window_records
from o365_pipeline.records.window_records import (
    BlobFile,
    MalformedBlobError,
    WindowRecords,
    check_blob_records,
)
from o365_pipeline.storage.partition_writer import AuditPartitionWriter

CREATED = datetime(2026, 11, 30, 10, tzinfo=UTC)


def _record(record_id: str, note: str) -> dict:
    return {"Id": record_id, "CreationTime": "2026-11-30T09:59:00", "Operation": note}


def _blob(tmp_path, index: int, records: list[dict]) -> BlobFile:
    path = tmp_path / f"blob-{index}.json"
    path.write_text(json.dumps(records))
    return BlobFile(path, f"content-{index}", CREATED + timedelta(minutes=index))


def _load(blobs):
    return WindowRecords(blobs, tenant="t", content_type="Audit.Exchange", ingested_at=CREATED)


def test_records_come_back_in_listing_then_blob_order_with_their_blobs_context(tmp_path):
    blobs = [
        _blob(tmp_path, i, [_record(f"id-{i}-{j}", f"op-{i}-{j}") for j in range(50)])
        for i in range(7)
    ]
    with _load(blobs) as loaded:
        rows = [row for batch in loaded.batches(batch_rows=64) for row in batch.to_pylist()]
        counts = list(loaded.records_per_blob)
    assert [row["Id"] for row in rows] == [f"id-{i}-{j}" for i in range(7) for j in range(50)]
    assert counts == [50] * 7
    assert {row["content_id"] for row in rows if row["Id"].startswith("id-3-")} == {"content-3"}
    by_blob = {row["content_id"]: row["content_created"] for row in rows}
    assert by_blob["content-5"] == CREATED + timedelta(minutes=5)


def test_the_first_delivery_of_a_repeated_id_is_the_one_written(tmp_path):
    blobs = [
        _blob(tmp_path, 0, [_record("a", "first"), _record("b", "first")]),
        _blob(tmp_path, 1, [_record("b", "second"), _record("c", "second"), _record("a", "x")]),
    ]
    with _load(blobs) as loaded, AuditPartitionWriter(tmp_path / "out.parquet") as writer:
        for batch in loaded.batches():
            writer.write(batch)
        kept = {
            record_id: (operation, content_id)
            for record_id, operation, content_id in loaded.connection.execute(
                f"SELECT Id, Operation, content_id FROM {loaded.first_deliveries()}"
            ).fetchall()
        }
        result = writer.commit()
    assert (result.rows_written, result.duplicates_dropped) == (3, 2)
    assert kept == {
        "a": ("first", "content-0"),
        "b": ("first", "content-0"),
        "c": ("second", "content-1"),
    }


def test_a_large_blob_between_small_ones_is_read_from_its_pieces_in_its_place(
    tmp_path, monkeypatch
):
    blobs = [
        _blob(tmp_path, 0, [_record("s0", "small")]),
        _blob(tmp_path, 1, [_record(f"big-{j}", "x" * 200) for j in range(400)]),
        _blob(tmp_path, 2, [_record("s2", "small")]),
    ]
    large = blobs[1].path.stat().st_size
    monkeypatch.setattr(window_records, "SPLIT_ABOVE_BYTES", large - 1)
    with _load(blobs) as loaded:
        ids = [row["Id"] for batch in loaded.batches() for row in batch.to_pylist()]
        counts = list(loaded.records_per_blob)
    assert ids == ["s0", *[f"big-{j}" for j in range(400)], "s2"]
    assert counts == [1, 400, 1]
    assert not list(tmp_path.glob("pieces-*")), "the pieces are removed on exit"


@pytest.mark.parametrize(
    ("second_body", "named"),
    [
        ('[{"Id": "ok"}, "not a record"]', r"Element 1 of blob content-1"),
        ('[{"Id": 7}]', r"Element 0 of blob content-1 .*no string Id"),
        ('[{"Id": "ok"}, {"Id": ]', r"Blob content-1 .*not a JSON array"),
    ],
)
def test_a_body_that_is_not_records_is_named_with_its_place_in_the_window(
    tmp_path, second_body, named
):
    blobs = [
        _blob(tmp_path, 0, [_record("a", "fine")]),
        _blob(tmp_path, 1, []),
        _blob(tmp_path, 2, []),
    ]
    blobs[1].path.write_text(second_body)
    with pytest.raises(MalformedBlobError, match=named) as raised, _load(blobs):
        pass
    assert raised.value.blob_index == 1


def test_the_download_check_refuses_what_the_load_would_refuse(tmp_path):
    good = _blob(tmp_path, 0, [_record("a", "fine")]).path
    check_blob_records(good)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"Id": "a"}, [1, 2]]')
    with pytest.raises(MalformedBlobError, match=r"element 1 is not an audit record"):
        check_blob_records(bad)
