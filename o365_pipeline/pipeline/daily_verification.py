"""Does a daily table still prove out? Its ledger row's counts and anti-joins, the bytes on disk
against the ledger's SHA-256, and the hourly files against the ones it was built from.

The daily file is derived: when an hourly partition of its day is re-materialized (a late blob
landed after compaction), the hourly checksums change and the daily table is stale until the
day is compacted again. That is a warning to act on, not lost data — the hourly files still
hold everything, and `audit` reads the daily file until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from o365_pipeline.pipeline.daily_compaction import hourly_ledgers, inputs_digest
from o365_pipeline.storage.checksum import sha256_of_file
from o365_pipeline.storage.daily_ledger import DailyLedgerEntry, read_daily_ledger
from o365_pipeline.storage.layout import DataLayout


@dataclass(frozen=True)
class DailyVerification:
    """What was found; `problems` is empty when the day proves out."""

    ledger: DailyLedgerEntry | None
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """The ledger exists, its proof holds, and the files are the ones it names."""
        return not self.problems


def verify_daily_table(
    layout: DataLayout, content_type: str, tenant: str, day: date
) -> DailyVerification:
    """Check the compacted day's proof, its file and its inputs (see the module docstring)."""
    try:
        entry = read_daily_ledger(layout.daily_ledger_file(content_type, tenant, day))
    except (pa.ArrowException, OSError, ValueError, TypeError) as error:
        return DailyVerification(None, (f"the daily ledger cannot be read ({error})",))
    if entry is None:
        return DailyVerification(None, ("the day has not been compacted",))
    problems = []
    if not entry.proof_holds:
        problems.append(
            f"the proof does not add up: {entry.hourly_rows} hourly rows, {entry.rows_written} "
            f"written, {entry.duplicates_within_day} + {entry.duplicates_of_earlier_days} "
            f"duplicates, {entry.unaccounted_rows} unaccounted, {entry.invented_rows} invented"
        )
    daily = layout.root / entry.file_path
    if not daily.exists():
        problems.append(f"{entry.file_path} is missing")
    elif sha256_of_file(daily) != entry.file_sha256:
        problems.append(f"{entry.file_path} is not the file the ledger describes")
    ledgers, unsettled = hourly_ledgers(layout, content_type, tenant, day)
    if unsettled or inputs_digest(ledgers) != entry.inputs_sha256:
        problems.append("its hourly partitions changed since it was compacted: compact it again")
    return DailyVerification(entry, tuple(problems))
