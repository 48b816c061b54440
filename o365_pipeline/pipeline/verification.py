"""Prove that what analysts query is what the pipeline wrote: every window's audit Parquet
against the ledger's SHA-256 and row counts, the ledger's blob rows against the window's
listing, and no Parquet file that no ledger names.

Damage is reported, never repaired here: each finding names the file (relative to the data
folder) and what differs, so the partition can be re-materialized while the API still holds
its blobs (7 days), or restored from the object store. A ledger written before checksums
were recorded cannot vouch for its file; that is reported as a finding too
(`no_checksum_recorded`), since an unverifiable file is not a verified one.
"""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from o365_pipeline.api.content import ContentBlob
from o365_pipeline.storage.checksum import sha256_of_file
from o365_pipeline.storage.layout import AUDIT, LEDGER, DataLayout, StoredPartition
from o365_pipeline.storage.ledger import (
    BLOBS_FILE_NAME,
    BlobOutcome,
    LedgerEntry,
    read_blob_outcomes,
    read_ledger_entry,
)
from o365_pipeline.storage.listings import load_listing

# What reading a damaged or forged Parquet file raises, from the footer to the typed row.
_DAMAGE = (pa.ArrowException, OSError, ValueError, TypeError, KeyError, AttributeError)
_Read = TypeVar("_Read")


class FindingKind(StrEnum):
    """What kind of difference a finding is."""

    UNREADABLE = "unreadable"
    MISSING_FILE = "missing_file"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    ROW_COUNT_MISMATCH = "row_count_mismatch"
    NO_CHECKSUM_RECORDED = "no_checksum_recorded"
    LEDGER_MISMATCH = "ledger_mismatch"
    UNRECORDED_FILE = "unrecorded_file"


@dataclass(frozen=True)
class Finding:
    """One file that differs from what the ledger says, and how."""

    kind: FindingKind
    path: str
    detail: str

    def line(self) -> str:
        """`<path>: <what differs>`, one line."""
        return f"{self.path}: {self.detail}"


@dataclass(frozen=True)
class VerificationReport:
    """What a verification looked at and what differed."""

    windows_checked: int
    files_checked: int
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        """Whether nothing differed."""
        return not self.findings


def verify_data(
    layout: DataLayout, *, tenant: str | None = None, since: datetime | None = None
) -> VerificationReport:
    """Verify every window the ledger holds (of `tenant`, starting at or after the hour of
    `since`, when given), and report audit Parquet files of those windows' scope that no
    ledger names.
    """
    first_hour = since.replace(minute=0, second=0, microsecond=0) if since else None

    def selected(partition: StoredPartition) -> bool:
        return (tenant is None or partition.tenant == tenant) and (
            first_hour is None or partition.window_start >= first_hour
        )

    ledgers = [layout.partition_of(path) for path in _matches(layout, LEDGER, "ledger.parquet")]
    windows = {partition for partition in ledgers if partition and selected(partition)}
    reports = [
        verify_window(layout, partition)
        for partition in sorted(
            windows, key=lambda window: (window.window_start, window.content_type, window.tenant)
        )
    ]
    findings = [finding for report in reports for finding in report.findings]
    filtering = tenant is not None or since is not None
    for path in _matches(layout, AUDIT, "*.parquet"):
        partition = layout.partition_of(path)
        if partition in windows or (partition is None and filtering):
            continue
        if partition is None or selected(partition):
            findings.append(_unrecorded(layout, path))
    return VerificationReport(
        windows_checked=len(windows),
        files_checked=sum(report.files_checked for report in reports),
        findings=tuple(findings),
    )


def verify_window(layout: DataLayout, partition: StoredPartition) -> VerificationReport:
    """Verify one window: its ledger and blob rows, its listing, its audit file, and that no
    other Parquet file sits in its audit folder.
    """
    check = _WindowCheck(layout)
    where = (partition.content_type, partition.tenant, partition.window_start)
    ledger_file = layout.ledger_file(*where)
    blobs_file = ledger_file.with_name(BLOBS_FILE_NAME)
    audit_file = layout.audit_file(*where)
    listing_file = layout.listing_file(*where)
    entry = check.read(ledger_file, read_ledger_entry)
    outcomes = check.read(blobs_file, read_blob_outcomes)
    listing = check.read(listing_file, load_listing)
    if entry is not None:
        check.audit_file(audit_file, entry)
        if outcomes is not None:
            check.blob_counts(blobs_file, entry, outcomes)
    if outcomes is not None and listing is not None:
        check.listing_agrees(listing_file, listing, outcomes)
    for path in sorted(audit_file.parent.glob("*.parquet")):
        if path != audit_file:
            check.findings.append(_unrecorded(layout, path))
    return VerificationReport(1, check.files_checked, tuple(check.findings))


@dataclass
class _WindowCheck:
    """The findings of one window, gathered file by file."""

    layout: DataLayout
    files_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    def differs(self, kind: FindingKind, path: Path, detail: str) -> None:
        self.findings.append(Finding(kind, _relative(self.layout, path), detail))

    def read(self, path: Path, reader: Callable[[Path], _Read]) -> _Read | None:
        """What `reader` makes of `path`, or None after reporting it missing or damaged."""
        if not path.exists():
            self.differs(FindingKind.MISSING_FILE, path, "missing (the ledger has this window)")
            return None
        self.files_checked += 1
        try:
            return reader(path)
        except _DAMAGE as error:
            self.differs(FindingKind.UNREADABLE, path, f"cannot be read: {_one_line(error)}")
            return None

    def audit_file(self, path: Path, entry: LedgerEntry) -> None:
        """The audit file is the one the ledger names, byte for byte and row for row."""
        expected = _relative(self.layout, path)
        if entry.file_path is not None and entry.file_path != expected:
            self.differs(
                FindingKind.LEDGER_MISMATCH, path, f"the ledger names {entry.file_path} instead"
            )
        if not path.exists():
            if entry.file_sha256 is not None or entry.status != "incomplete":
                self.differs(FindingKind.MISSING_FILE, path, "missing (the ledger records it)")
            return
        self.files_checked += 1
        if entry.file_sha256 is None:
            self.differs(
                FindingKind.NO_CHECKSUM_RECORDED,
                path,
                "no checksum recorded in the ledger (written before checksums were kept); "
                "re-materialize the partition to record one",
            )
        else:
            actual = sha256_of_file(path)
            if actual != entry.file_sha256:
                self.differs(
                    FindingKind.CHECKSUM_MISMATCH,
                    path,
                    f"SHA-256 {actual[:16]}… differs from the ledger's {entry.file_sha256[:16]}…",
                )
        try:
            rows = pq.read_metadata(path).num_rows
        except _DAMAGE as error:
            self.differs(FindingKind.UNREADABLE, path, f"not readable Parquet: {_one_line(error)}")
            return
        expected_rows = {"file_rows": entry.file_rows}
        if entry.status != "incomplete":  # a failed window keeps the previous file
            expected_rows["records_written"] = entry.records_written
        recorded = {name: count for name, count in expected_rows.items() if count is not None}
        if any(count != rows for count in recorded.values()):
            said = ", ".join(f"{name}={count}" for name, count in recorded.items())
            self.differs(
                FindingKind.ROW_COUNT_MISMATCH, path, f"holds {rows} rows; the ledger says {said}"
            )

    def blob_counts(self, path: Path, entry: LedgerEntry, outcomes: list[BlobOutcome]) -> None:
        """The blob rows add up to the summary row's counts."""
        statuses = Counter(outcome.status for outcome in outcomes)
        pairs = {
            "blobs_listed": (len(outcomes), entry.blobs_listed),
            "blobs_fetched": (statuses["fetched"], entry.blobs_fetched),
            "blobs_failed": (statuses["failed"], entry.blobs_failed),
            "blobs_expired": (statuses["expired"], entry.blobs_expired),
        }
        wrong = [
            f"{name} {actual} (summary {summary})"
            for name, (actual, summary) in pairs.items()
            if actual != summary
        ]
        if wrong:
            self.differs(
                FindingKind.LEDGER_MISMATCH,
                path,
                "blob rows disagree with the summary row: " + ", ".join(wrong),
            )

    def listing_agrees(
        self, path: Path, listing: list[ContentBlob], outcomes: list[BlobOutcome]
    ) -> None:
        """Every listed blob has a ledger blob row, and every blob row was listed."""
        listed = [blob.content_id for blob in listing]
        recorded = {outcome.content_id for outcome in outcomes}
        unrecorded = [content_id for content_id in listed if content_id not in recorded]
        unlisted = sorted(recorded - set(listed))
        if unrecorded:
            self.differs(
                FindingKind.LEDGER_MISMATCH,
                path,
                f"{len(unrecorded)} listed contentId(s) have no ledger blob row "
                f"(first {unrecorded[0]}); re-materialize the audit partition",
            )
        if unlisted:
            self.differs(
                FindingKind.LEDGER_MISMATCH,
                path,
                f"{len(unlisted)} ledger blob row(s) are not in the listing (first {unlisted[0]})",
            )


def _unrecorded(layout: DataLayout, path: Path) -> Finding:
    return Finding(
        FindingKind.UNRECORDED_FILE,
        _relative(layout, path),
        "no ledger names this file (the views read it); move it out of the data folder",
    )


def _matches(layout: DataLayout, area: str, file_name: str) -> list[Path]:
    return sorted(Path(path) for path in glob.glob(layout.glob(area, file_name)))


def _relative(layout: DataLayout, path: Path) -> str:
    return Path(path).relative_to(layout.root).as_posix()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
