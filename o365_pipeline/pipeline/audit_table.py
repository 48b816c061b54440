"""Fetch the blobs of one listed window and land them as one atomic Parquet partition.

Rules followed here:
- Every listed blob is fetched or accounted for. A blob the API calls expired (AF20051) is
  recorded as loss and the rest of the window lands; a blob that keeps failing for any other
  reason — a body that is not an array of records included, which the transport asks for again
  under its retry policy — fails the window naming the blob, and the previous good Parquet stays
  in place so a later run can complete it. Nothing is skipped silently.
- Blobs are fetched concurrently, and the window's bodies are loaded for conversion in listing
  order as they arrive (`window_download`), so the same listing always yields the same rows
  (the first delivery of a duplicated Id wins). The partition's summary and schema profile
  are computed from that load before the file is written, not read back from it.
- The ledger names the audit file in place with its row count and SHA-256: the one just
  committed, or after a failed window the previous good one (still in place), so
  `o365-pipeline verify` can check whatever analysts query.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.content import ContentBlob
from o365_pipeline.api.errors import ContentExpiredError, ManagementApiError
from o365_pipeline.api.windows import Window
from o365_pipeline.errors import PipelineError
from o365_pipeline.pipeline.partition_summary import PartitionSummary, summarize_source
from o365_pipeline.pipeline.window_download import download_and_load
from o365_pipeline.records.schema_drift import SchemaProfile, profile_source
from o365_pipeline.records.window_records import (
    BlobFile,
    MalformedBlobError,
    WindowRecords,
    check_blob_records,
)
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import BlobOutcome, LedgerEntry, read_ledger, write_ledger
from o365_pipeline.storage.listings import load_listing
from o365_pipeline.storage.partition_writer import AuditPartitionWriter, PartitionWriteResult


class IncompleteWindowError(PipelineError, RuntimeError):
    """Some listed blobs could not be fetched; the window's previous Parquet is kept."""

    retriable = True  # the blobs stay fetchable until their contentExpiration

    def __init__(
        self, tenant: str, content_type: str, window: Window, failures: list[BlobOutcome]
    ) -> None:
        self.failures = failures
        names = "; ".join(f"{outcome.content_id}: {outcome.error}" for outcome in failures[:5])
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        super().__init__(
            f"{len(failures)} blob(s) of {content_type} for tenant {tenant}, window "
            f"{window.start:%Y-%m-%dT%H:%MZ}, could not be fetched: {names}{more}. "
            "The previous data of this "
            "partition was left in place and the ledger records the failure; re-materialize the "
            "partition to complete it (blobs stay fetchable until their contentExpiration)."
        )


@dataclass(frozen=True)
class IngestReport:
    """What one window's ingestion did: the ledger row, per-blob outcomes, the write, and the
    facts of what was written (summary, schema profile).
    """

    ledger: LedgerEntry
    outcomes: tuple[BlobOutcome, ...]
    write: PartitionWriteResult
    summary: PartitionSummary
    profile: SchemaProfile


def ingest_window(
    client: ManagementApiClient,
    layout: DataLayout,
    *,
    tenant: str,
    content_type: str,
    window: Window,
    clock: Callable[[], datetime],
) -> IngestReport:
    """Fetch every blob listed for the window, write the partition and its ledger row.

    Raises:
        IncompleteWindowError: a blob failed for a reason other than expiry.

    """
    blobs = load_listing(layout.listing_file(content_type, tenant, window.start), content_type)
    ledger_file = layout.ledger_file(content_type, tenant, window.start)
    started_at = clock()
    audit_file = layout.audit_file(content_type, tenant, window.start)
    write = summary = profile = None
    with tempfile.TemporaryDirectory(prefix="o365-blobs-") as scratch:
        with WindowRecords(
            [], tenant=tenant, content_type=content_type, ingested_at=started_at
        ) as streamed:
            downloads, loaded = download_and_load(client, blobs, Path(scratch), streamed)
            outcomes = [_outcome(blob, result) for blob, result in downloads]
            fetched = [
                (index, BlobFile(result, blob.content_id, blob.content_created))
                for index, (blob, result) in enumerate(downloads)
                if isinstance(result, Path)
            ]
            if loaded:
                for position, records in enumerate(streamed.records_per_blob):
                    _count(outcomes, fetched[position][0], records)
                write, summary, profile = _write_loaded(streamed, audit_file)
        entry_kwargs = dict(
            tenant=tenant,
            content_type=content_type,
            window=window,
            outcomes=outcomes,
            started_at=started_at,
        )
        refetched: set[int] = set()
        while write is None and not any(outcome.status == "failed" for outcome in outcomes):
            try:
                write, summary, profile = _convert(
                    [blob_file for _, blob_file in fetched],
                    audit_file,
                    tenant=tenant,
                    content_type=content_type,
                    ingested_at=started_at,
                    counted=lambda position, records: _count(
                        outcomes, fetched[position][0], records
                    ),
                )
            except MalformedBlobError as error:
                position = error.blob_index or 0
                index, blob_file = fetched[position]
                if index in refetched:  # still not records (a large body, checked only here)
                    outcomes[index] = replace(outcomes[index], status="failed", error=str(error))
                    break
                # A body that does not hold records is most often a transfer gone wrong: ask for
                # it again, now checking its records on arrival, so that the transport's retry
                # policy (the one retry loop) decides how often.
                refetched.add(index)
                again = client.download_blob_or_error(
                    blobs[index], blob_file.path, check=check_blob_records
                )
                if isinstance(again, ManagementApiError):
                    outcomes[index] = replace(outcomes[index], status="failed", error=str(again))
        if write is None:
            failures = [outcome for outcome in outcomes if outcome.status == "failed"]
            entry = _ledger_entry(**entry_kwargs, write=None, finished_at=clock())
            write_ledger(ledger_file, _keeping_file_of(entry, ledger_file), outcomes)
            raise IncompleteWindowError(tenant, content_type, window, failures)
    entry = _ledger_entry(**entry_kwargs, write=write, finished_at=clock())
    entry = replace(
        entry,
        file_path=write.path.relative_to(layout.root).as_posix(),
        file_rows=write.file_rows,
        file_sha256=write.file_sha256,
    )
    write_ledger(ledger_file, entry, outcomes)
    return IngestReport(
        ledger=entry, outcomes=tuple(outcomes), write=write, summary=summary, profile=profile
    )


def _convert(
    blob_files: list[BlobFile],
    path: Path,
    *,
    tenant: str,
    content_type: str,
    ingested_at: datetime,
    counted: Callable[[int, int], None],
) -> tuple[PartitionWriteResult, PartitionSummary, SchemaProfile]:
    """Load the bodies once, write the partition, and describe what it holds."""
    with WindowRecords(
        blob_files, tenant=tenant, content_type=content_type, ingested_at=ingested_at
    ) as loaded:
        for position, records in enumerate(loaded.records_per_blob):
            counted(position, records)
        return _write_loaded(loaded, path)


def _write_loaded(
    loaded: WindowRecords, path: Path
) -> tuple[PartitionWriteResult, PartitionSummary, SchemaProfile]:
    with AuditPartitionWriter(path) as writer:
        for batch in loaded.batches():
            writer.write(batch)
        first = loaded.first_deliveries()
        summary = summarize_source(loaded.connection, first)
        profile = profile_source(loaded.connection, first, structure="structure")
        return writer.commit(), summary, profile


def _count(outcomes: list[BlobOutcome], index: int, records: int) -> None:
    outcomes[index] = replace(outcomes[index], records_read=records)


def _outcome(blob: ContentBlob, result: Path | ManagementApiError) -> BlobOutcome:
    """A downloaded blob is "fetched" (its records are counted when loaded)."""
    if isinstance(result, ContentExpiredError):
        status, error = "expired", str(result)
    elif isinstance(result, ManagementApiError):
        status, error = "failed", str(result)
    else:
        status, error = "fetched", None
    return BlobOutcome(
        content_id=blob.content_id,
        content_created=blob.content_created,
        content_expiration=blob.content_expiration,
        status=status,
        records_read=0,
        error=error,
    )


def _keeping_file_of(entry: LedgerEntry, ledger_file: Path) -> LedgerEntry:
    """`entry` naming the file the previous ledger named: a failed window leaves that file in
    place, so its checksum stays the one to verify against. A damaged previous ledger is not
    read: the entry then records no checksum, which `verify` reports.
    """
    try:
        previous = read_ledger(ledger_file)
    except (pa.ArrowException, OSError, ValueError, TypeError):
        return entry
    if previous is None:
        return entry
    kept, _ = previous
    return replace(
        entry,
        file_path=kept.file_path,
        file_rows=kept.file_rows,
        file_sha256=kept.file_sha256,
    )


def _ledger_entry(
    *,
    tenant: str,
    content_type: str,
    window: Window,
    outcomes: list[BlobOutcome],
    write: PartitionWriteResult | None,
    started_at: datetime,
    finished_at: datetime,
) -> LedgerEntry:
    def count(status: str) -> int:
        return sum(1 for outcome in outcomes if outcome.status == status)

    if write is None:
        status = "incomplete"
    elif count("expired"):
        status = "complete_with_loss"
    else:
        status = "complete"
    return LedgerEntry(
        tenant=tenant,
        content_type=content_type,
        window_start=window.start,
        window_end=window.end,
        blobs_listed=len(outcomes),
        blobs_fetched=count("fetched"),
        blobs_failed=count("failed"),
        blobs_expired=count("expired"),
        records_read=sum(outcome.records_read for outcome in outcomes),
        duplicates_dropped=write.duplicates_dropped if write else 0,
        records_written=write.rows_written if write else 0,
        bytes_written=write.bytes_written if write else 0,
        started_at=started_at,
        finished_at=finished_at,
        status=status,
    )
