"""The completeness ledger: for every tenant × content type × window, what was listed,
fetched, failed and expired, and what was read, dropped and written — so "is 14:00–15:00
complete?" has an answer.

Each window has two small Parquet files: `ledger.parquet` (the summary row) and
`ledger_blobs.parquet` (one row per listed blob), each replaced atomically.

The summary row also names the audit Parquet file the window committed (`file_path`, relative
to the data folder), its row count (`file_rows`) and the SHA-256 of its bytes (`file_sha256`),
so `o365-pipeline verify` can prove the file on disk is the one written. Ledgers written before
these columns existed still read: the three are None there ("no checksum recorded").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from o365_pipeline.storage.atomic import publish, temporary_path_for

BLOBS_FILE_NAME = "ledger_blobs.parquet"
_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class LedgerEntry:
    """The summary of one window's ingestion."""

    tenant: str
    content_type: str
    window_start: datetime
    window_end: datetime
    blobs_listed: int
    blobs_fetched: int
    blobs_failed: int
    blobs_expired: int
    records_read: int
    duplicates_dropped: int
    records_written: int
    bytes_written: int
    started_at: datetime
    finished_at: datetime
    status: str
    file_path: str | None = None
    file_rows: int | None = None
    file_sha256: str | None = None


@dataclass(frozen=True)
class BlobOutcome:
    """What happened to one listed blob: `fetched`, `failed` or `expired`."""

    content_id: str
    content_created: datetime
    content_expiration: datetime
    status: str
    records_read: int
    error: str | None


_ARROW_TYPES = {
    "datetime": _TIMESTAMP,
    "int": pa.int64(),
    "int | None": pa.int64(),
    "str": pa.string(),
    "str | None": pa.string(),
}
LEDGER_SCHEMA = pa.schema([(field.name, _ARROW_TYPES[field.type]) for field in fields(LedgerEntry)])
BLOB_SCHEMA = pa.schema(
    [
        ("tenant", pa.string()),
        ("content_type", pa.string()),
        ("window_start", _TIMESTAMP),
        *[(field.name, _ARROW_TYPES[field.type]) for field in fields(BlobOutcome)],
    ]
)


def write_ledger(path: Path, entry: LedgerEntry, outcomes: Sequence[BlobOutcome]) -> None:
    """Write the summary row at `path` and the blob rows beside it, each atomically."""
    _write(path, pa.Table.from_pylist([asdict(entry)], schema=LEDGER_SCHEMA))
    blob_rows = [
        {
            "tenant": entry.tenant,
            "content_type": entry.content_type,
            "window_start": entry.window_start,
            **asdict(outcome),
        }
        for outcome in outcomes
    ]
    _write(path.with_name(BLOBS_FILE_NAME), pa.Table.from_pylist(blob_rows, schema=BLOB_SCHEMA))


def read_ledger(path: Path) -> tuple[LedgerEntry, list[BlobOutcome]] | None:
    """The ledger of one window, or None when the window was never ingested."""
    if not path.exists():
        return None
    blobs_path = path.with_name(BLOBS_FILE_NAME)
    outcomes = read_blob_outcomes(blobs_path) if blobs_path.exists() else []
    return read_ledger_entry(path), outcomes


def read_ledger_entry(path: Path) -> LedgerEntry:
    """The summary row at `path` (columns added since it was written take their defaults).

    Raises:
        pyarrow.ArrowException, OSError, ValueError, TypeError: the file is damaged.

    """
    (row,) = pq.read_table(path).to_pylist()
    return LedgerEntry(**_utc(row))


def read_blob_outcomes(path: Path) -> list[BlobOutcome]:
    """The blob rows at `path`, in listing order.

    Raises:
        pyarrow.ArrowException, OSError, ValueError, TypeError: the file is damaged.

    """
    names = {field.name for field in fields(BlobOutcome)}
    return [
        BlobOutcome(**_utc({key: value for key, value in blob.items() if key in names}))
        for blob in pq.read_table(path).to_pylist()
    ]


def _write(path: Path, table: pa.Table) -> None:
    temporary = temporary_path_for(path)
    pq.write_table(table, temporary)
    publish(temporary, path)


def _utc(row: dict) -> dict:
    return {
        key: value.astimezone(UTC) if isinstance(value, datetime) else value
        for key, value in row.items()
    }
