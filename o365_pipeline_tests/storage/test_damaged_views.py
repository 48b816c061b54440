"""One damaged Parquet file is left out of the views and named; the rest stays queryable."""

import logging
from datetime import UTC, datetime, timedelta

from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import LedgerEntry, write_ledger
from o365_pipeline.storage.partition_writer import AuditPartitionWriter
from o365_pipeline.storage.views import connect
from o365_pipeline_tests.damage import truncate

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)


def _land(layout, hour, ids, content_type="Audit.Exchange"):
    records = [{"Id": record_id, "CreationTime": "2026-11-25T08:30:00"} for record_id in ids]
    batch = records_table(
        records,
        tenant="contoso",
        content_type=content_type,
        content_id=f"blob-{hour:%H}",
        content_created=hour,
        ingested_at=hour,
    )
    path = layout.audit_file(content_type, "contoso", hour)
    with AuditPartitionWriter(path) as writer:
        writer.write(batch)
        writer.commit()
    return path


def _connect_collecting(root):
    skipped = []
    return connect(root, on_damaged=skipped.append), skipped


def test_a_garbage_file_named_parquet_is_left_out_and_named(tmp_path):
    layout = DataLayout(tmp_path)
    _land(layout, HOUR, ["a", "b"])
    garbage = _land(layout, HOUR + timedelta(hours=1), ["c"])
    garbage.write_bytes(b"this is not parquet")

    connection, skipped = _connect_collecting(tmp_path)
    with connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM audit").fetchone() == (2,)
        assert connection.execute("SELECT count(*) FROM audit_exchange").fetchone() == (2,)

    assert [damaged.path for damaged in skipped] == [str(garbage)]
    assert skipped[0].reason
    assert skipped[0].sentence().startswith(f"skipped damaged file {garbage}: ")


def test_a_truncated_file_of_one_content_type_leaves_the_others_intact(tmp_path):
    layout = DataLayout(tmp_path)
    _land(layout, HOUR, ["a"])
    cut = _land(layout, HOUR, ["b", "c"], content_type="Audit.SharePoint")
    truncate(cut)

    connection, skipped = _connect_collecting(tmp_path)
    with connection:
        assert connection.execute("SELECT count(*) FROM audit_exchange").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM audit_sharepoint").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM audit_all").fetchone() == (1,)
    assert [damaged.path for damaged in skipped] == [str(cut)]


def test_a_damaged_ledger_file_is_left_out_of_the_ledger_view(tmp_path):
    layout = DataLayout(tmp_path)
    for hour in (HOUR, HOUR + timedelta(hours=1)):
        entry = LedgerEntry(
            "contoso", "Audit.Exchange", hour, hour + timedelta(hours=1),
            0, 0, 0, 0, 0, 0, 0, 0, hour, hour, "complete",
        )  # fmt: skip
        write_ledger(layout.ledger_file("Audit.Exchange", "contoso", hour), entry, [])
    broken = layout.ledger_file("Audit.Exchange", "contoso", HOUR)
    truncate(broken)

    connection, skipped = _connect_collecting(tmp_path)
    with connection:
        assert connection.execute("SELECT hour FROM ledger").fetchall() == [(10,)]
    assert [damaged.path for damaged in skipped] == [str(broken)]


def test_without_damage_the_views_keep_seeing_partitions_that_land_later(tmp_path):
    layout = DataLayout(tmp_path)
    _land(layout, HOUR, ["a"])
    connection, skipped = _connect_collecting(tmp_path)
    with connection:
        _land(layout, HOUR + timedelta(hours=1), ["b"])
        assert connection.execute("SELECT count(*) FROM audit").fetchone() == (2,)
    assert skipped == []


def test_by_default_a_skipped_file_is_logged_as_a_warning(tmp_path, caplog):
    layout = DataLayout(tmp_path)
    _land(layout, HOUR, ["a"])
    garbage = _land(layout, HOUR + timedelta(hours=1), ["b"])
    garbage.write_bytes(b"PAR1")

    with caplog.at_level(logging.WARNING), connect(tmp_path) as connection:
        assert connection.execute("SELECT count(*) FROM audit").fetchone() == (1,)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"skipped damaged file {garbage}: ")
