"""Compact a settled UTC day of one tenant and content type into its daily table, and prove it.

A day is settled when all 24 of its hourly partitions have a complete ledger (`complete`, or
`complete_with_loss` when a blob expired before it could be fetched: nothing more can come)
and it ended at least the settle delay ago (`O365_DAILY_SETTLE_HOURS`, default 26 h: the
late-blob sensor re-lists the last `O365_RELIST_HOURS`, 24 by default, and re-runs the windows
that gained blobs, so by then no automatic run changes the day's hourly files). The hourly files
stay the source of truth: the daily table is derived from them, can be rebuilt at any time, and
is replaced only by a complete, proved file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pyarrow as pa

from o365_pipeline.errors import PipelineError
from o365_pipeline.storage.daily_ledger import DailyLedgerEntry, write_daily_ledger
from o365_pipeline.storage.daily_tables import (
    LOOKBACK_DAYS,
    CompactedDay,
    compact_day,
    earlier_days,
)
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import BLOBS_FILE_NAME, LedgerEntry, read_ledger_entry
from o365_pipeline.storage.object_store import ObjectStore, ObjectStoreError

SETTLED_STATUSES = ("complete", "complete_with_loss")
DEFAULT_SETTLE_DELAY = timedelta(hours=26)


class DayNotSettledError(PipelineError, RuntimeError):
    """The day cannot be compacted yet: it is too recent, or an hour is missing or incomplete."""

    retriable = True  # the hours land, or time passes


@dataclass(frozen=True)
class DailyCompactionReport:
    """What one day's compaction wrote, with its ledger row (the proof)."""

    ledger: DailyLedgerEntry
    compacted: CompactedDay
    published: list[str] | None


def day_hours(day: date) -> list[datetime]:
    """The 24 UTC window starts of `day`."""
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    return [midnight + timedelta(hours=hour) for hour in range(24)]


def settled_days(now: datetime, *, settle_delay: timedelta, count: int) -> list[date]:
    """The newest `count` days that ended at least `settle_delay` before `now`, oldest first."""
    if count < 1:
        raise ValueError(f"count must be at least 1 day, got {count}")
    newest = (now.astimezone(UTC) - settle_delay).date() - timedelta(days=1)
    return [newest - timedelta(days=back) for back in range(count - 1, -1, -1)]


def compact_daily_table(
    layout: DataLayout,
    store: ObjectStore | None,
    *,
    tenant: str,
    content_type: str,
    day: date,
    settle_delay: timedelta = DEFAULT_SETTLE_DELAY,
    clock: Callable[[], datetime],
) -> DailyCompactionReport:
    """Compact `day` when it is settled; write its daily ledger row; publish both to the store.

    Raises:
        DayNotSettledError: the day is too recent or an hour is missing or incomplete (named).
        DailyProofError: the written file did not prove out (nothing was published).
        ObjectStoreError: fetching the hours or publishing the result failed.

    """
    started_at = clock()
    _fetch_inputs(layout, store, content_type, tenant, day)
    ledgers = _settled_ledgers(layout, content_type, tenant, day, started_at, settle_delay)
    hourly_files = [layout.audit_file(content_type, tenant, hour) for hour in day_hours(day)]
    earlier = earlier_days(layout, content_type, tenant, day)
    target = layout.daily_file(content_type, tenant, day)
    compacted = compact_day(target, day, hourly_files, earlier)
    counts = compacted.counts
    entry = DailyLedgerEntry(
        tenant=tenant,
        content_type=content_type,
        day=day,
        hours=len(ledgers),
        hours_with_loss=sum(1 for ledger in ledgers if ledger.status != "complete"),
        hourly_rows=counts.hourly_rows,
        duplicates_within_day=counts.duplicates_within_day,
        duplicates_of_earlier_days=counts.duplicates_of_earlier_days,
        rows_written=counts.rows_written,
        unaccounted_rows=counts.unaccounted_rows,
        invented_rows=counts.invented_rows,
        lookback_days=LOOKBACK_DAYS,
        lookback_days_found=len(earlier),
        farthest_duplicate_days=counts.farthest_duplicate_days,
        inputs_sha256=inputs_digest(ledgers),
        file_path=target.relative_to(layout.root).as_posix(),
        file_rows=compacted.file_rows,
        file_sha256=compacted.file_sha256,
        bytes_written=compacted.bytes_written,
        started_at=started_at,
        finished_at=clock(),
    )
    ledger_file = layout.daily_ledger_file(content_type, tenant, day)
    write_daily_ledger(ledger_file, entry)
    published = _publish(store, layout, [target, ledger_file], f"{content_type} {tenant} {day}")
    return DailyCompactionReport(entry, compacted, published)


def inputs_digest(ledgers: list[LedgerEntry]) -> str:
    """One SHA-256 over the hourly files' checksums, in hour order: a daily table built from
    other hourly bytes than the ones in place now has another digest (it is stale).
    """
    text = "\n".join(f"{entry.window_start:%H} {entry.file_sha256}" for entry in ledgers)
    return hashlib.sha256(text.encode()).hexdigest()


def hourly_ledgers(
    layout: DataLayout, content_type: str, tenant: str, day: date
) -> tuple[list[LedgerEntry], list[str]]:
    """The day's readable hourly ledger rows, and a reason for each hour that is not settled."""
    ledgers, problems = [], []
    for hour in day_hours(day):
        path = layout.ledger_file(content_type, tenant, hour)
        label = f"{hour:%H}:00"
        if not path.exists():
            problems.append(f"{label} not landed")
            continue
        try:
            entry = read_ledger_entry(path)
        except (pa.ArrowException, OSError, ValueError, TypeError):
            problems.append(f"{label} has a damaged ledger")
            continue
        if entry.status not in SETTLED_STATUSES:
            problems.append(f"{label} is {entry.status}")
        elif not layout.audit_file(content_type, tenant, hour).exists():
            problems.append(f"{label} has no audit file")
        else:
            ledgers.append(entry)
    return ledgers, problems


def _settled_ledgers(
    layout: DataLayout,
    content_type: str,
    tenant: str,
    day: date,
    now: datetime,
    settle_delay: timedelta,
) -> list[LedgerEntry]:
    settles_at = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) + settle_delay
    ledgers, problems = hourly_ledgers(layout, content_type, tenant, day)
    if now < settles_at:
        problems.insert(0, f"it settles at {settles_at:%Y-%m-%dT%H:%MZ}")
    if problems:
        shown = "; ".join(problems[:6]) + (f" (and {len(problems) - 6} more)" * (len(problems) > 6))
        raise DayNotSettledError(
            f"{content_type} for tenant {tenant} on {day} cannot be compacted yet: {shown}. "
            "Materialize the day's hourly audit partitions (o365-pipeline backfill) and "
            "compact it once it has settled."
        )
    return ledgers


def _fetch_inputs(
    layout: DataLayout, store: ObjectStore | None, content_type: str, tenant: str, day: date
) -> None:
    """Bring the day's hourly files and ledgers, and the look-back days' daily files, from the
    store when an earlier step ran elsewhere (no-op without a store).
    """
    if store is None:
        return
    files = []
    for hour in day_hours(day):
        ledger = layout.ledger_file(content_type, tenant, hour)
        files += [layout.audit_file(content_type, tenant, hour), ledger]
        files.append(ledger.with_name(BLOBS_FILE_NAME))
    for back in range(1, LOOKBACK_DAYS + 1):
        files.append(layout.daily_file(content_type, tenant, day - timedelta(days=back)))
    try:
        store.fetch_missing(layout.root, files)
    except OSError as error:
        raise _store_failure(
            "Fetching the hours of", f"{content_type} {tenant} {day}", store, error
        ) from None


def _publish(
    store: ObjectStore | None, layout: DataLayout, files: list, label: str
) -> list[str] | None:
    if store is None:
        return None
    try:
        return store.publish(layout.root, files)
    except OSError as error:
        raise _store_failure("Publishing the daily table of", label, store, error) from None


def _store_failure(action: str, label: str, store: ObjectStore, error: OSError) -> ObjectStoreError:
    return ObjectStoreError(
        f"{action} {label} ({store.url}) failed ({type(error).__name__}: {error}). The local "
        "files are intact; re-materialize the daily partition to try again."
    )
