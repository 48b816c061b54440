"""The ledger's summary row names the committed audit file, its rows and its SHA-256; ledgers
written before those columns existed still read."""

from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq

from o365_pipeline.storage.layout import DataLayout, StoredPartition
from o365_pipeline.storage.ledger import LedgerEntry, read_ledger, write_ledger

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)


def _entry(**files):
    return LedgerEntry(
        "contoso", "Audit.Exchange", HOUR, HOUR + timedelta(hours=1),
        1, 1, 0, 0, 3, 0, 3, 999, HOUR, HOUR, "complete", **files,
    )  # fmt: skip


def test_the_file_columns_round_trip(tmp_path):
    path = DataLayout(tmp_path).ledger_file("Audit.Exchange", "contoso", HOUR)
    entry = _entry(file_path="audit/x/part.parquet", file_rows=3, file_sha256="ab" * 32)
    write_ledger(path, entry, [])
    assert read_ledger(path) == (entry, [])


def test_a_ledger_without_the_file_columns_reads_them_as_unknown(tmp_path):
    path = DataLayout(tmp_path).ledger_file("Audit.Exchange", "contoso", HOUR)
    write_ledger(path, _entry(file_path="p", file_rows=3, file_sha256="ab" * 32), [])
    pq.write_table(
        pq.read_table(path).drop_columns(["file_path", "file_rows", "file_sha256"]), path
    )
    assert read_ledger(path) == (_entry(), [])


def test_a_partition_is_read_back_from_its_path_and_a_stray_folder_is_not_one(tmp_path):
    layout = DataLayout(tmp_path)
    path = layout.ledger_file("Audit.Exchange", "contoso", HOUR)
    assert layout.partition_of(path) == StoredPartition("Audit.Exchange", "contoso", HOUR)
    for stray in (
        tmp_path / "audit" / "somewhere" / "else" / "x" / "y" / "part.parquet",
        tmp_path
        / "audit/content_type=Audit.Teams/tenant=contoso/date=2026-11-25/hour=09/p.parquet",
        tmp_path
        / "audit/content_type=audit.exchange/tenant=contoso/date=2026-11-25/hour=09/p.parquet",
        tmp_path / "audit/content_type=Audit.Exchange/tenant=../date=2026-11-25/hour=09/p.parquet",
        tmp_path
        / "audit/content_type=Audit.Exchange/tenant=contoso/date=2026-11-25/hour=25/p.parquet",
    ):
        assert layout.partition_of(stray) is None, stray
