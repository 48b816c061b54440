"""The daily ledger: one row per compacted tenant × content type × UTC day, the proof that the
daily file holds every record of its 24 hourly partitions exactly once.

The counts add up — `hourly_rows = rows_written + duplicates_within_day +
duplicates_of_earlier_days` — and two anti-joins are recorded that must both be zero:
`unaccounted_rows` (hourly records neither in the daily file nor in a look-back day) and
`invented_rows` (daily rows that are in no hourly file). `inputs_sha256` digests the hourly
ledgers' file checksums, so a day whose hourly files were re-materialized after compaction is
recognised as stale. Like the hourly ledger it names the file (`file_path`, relative to the data
folder), its rows and its SHA-256, and it is replaced atomically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from o365_pipeline.storage.atomic import publish, temporary_path_for

_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class DailyLedgerEntry:
    """What one day's compaction read, dropped and wrote, and the checks that prove it."""

    tenant: str
    content_type: str
    day: date
    hours: int
    hours_with_loss: int
    hourly_rows: int
    duplicates_within_day: int
    duplicates_of_earlier_days: int
    rows_written: int
    unaccounted_rows: int
    invented_rows: int
    lookback_days: int
    lookback_days_found: int
    farthest_duplicate_days: int
    inputs_sha256: str
    file_path: str
    file_rows: int
    file_sha256: str
    bytes_written: int
    started_at: datetime
    finished_at: datetime

    @property
    def proof_holds(self) -> bool:
        """Every hourly record is in the daily file or was a duplicate, and nothing else is."""
        return (
            self.unaccounted_rows == 0
            and self.invented_rows == 0
            and self.file_rows == self.rows_written
            and self.hourly_rows
            == self.rows_written + self.duplicates_within_day + self.duplicates_of_earlier_days
        )


_ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "date": pa.date32(), "datetime": _TIMESTAMP}
DAILY_LEDGER_SCHEMA = pa.schema(
    [(field.name, _ARROW_TYPES[field.type]) for field in fields(DailyLedgerEntry)]
)


def write_daily_ledger(path: Path, entry: DailyLedgerEntry) -> None:
    """Write the row at `path` atomically."""
    temporary = temporary_path_for(path)
    pq.write_table(pa.Table.from_pylist([asdict(entry)], schema=DAILY_LEDGER_SCHEMA), temporary)
    publish(temporary, path)


def read_daily_ledger(path: Path) -> DailyLedgerEntry | None:
    """The row at `path`, or None when the day was never compacted.

    Raises:
        pyarrow.ArrowException, OSError, ValueError, TypeError: the file is damaged.

    """
    if not path.exists():
        return None
    (row,) = pq.read_table(path).to_pylist()
    return DailyLedgerEntry(
        **{
            key: value.astimezone(UTC) if isinstance(value, datetime) else value
            for key, value in row.items()
        }
    )
