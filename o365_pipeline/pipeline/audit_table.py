"""Fetch the blobs of one listed window and land them as one atomic Parquet partition.

Rules followed here:
- Every listed blob is fetched or accounted for. A blob the API calls expired (AF20051) is
  recorded as loss and the rest of the window lands; a blob that keeps failing for any other
  reason fails the window naming the blob, and the previous good Parquet stays in place so a
  later run can complete it. Nothing is skipped silently.
- Blobs are fetched concurrently but consumed in listing order, so the same listing always
  yields the same rows (the first delivery of a duplicated Id wins).
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
from o365_pipeline.records.blob_reader import MalformedBlobError, read_blob_batches
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import BlobOutcome, LedgerEntry, read_ledger, write_ledger
from o365_pipeline.storage.listings import load_listing
from o365_pipeline.storage.partition_writer import AuditPartitionWriter, PartitionWriteResult

MALFORMED_REFETCHES = 2


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
    """What one window's ingestion did: the ledger row, per-blob outcomes and the write."""

    ledger: LedgerEntry
    outcomes: tuple[BlobOutcome, ...]
    write: PartitionWriteResult


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
    outcomes: list[BlobOutcome] = []
    with (
        AuditPartitionWriter(layout.audit_file(content_type, tenant, window.start)) as writer,
        tempfile.TemporaryDirectory(prefix="o365-blobs-") as scratch,
    ):
        for blob, result in client.download_blobs(blobs, Path(scratch)):
            outcome, malformed = _land_blob(
                writer, blob, result, tenant=tenant, ingested_at=started_at
            )
            for _ in range(MALFORMED_REFETCHES):
                if not malformed:
                    break
                # A body that does not parse is most often a transfer gone wrong; the
                # records already landed from it are exact, and the writer drops their
                # second delivery.
                again = client.download_blob_or_error(blob, Path(scratch) / "refetched.json")
                outcome, malformed = _land_blob(
                    writer, blob, again, tenant=tenant, ingested_at=started_at
                )
            outcomes.append(outcome)
        failures = [outcome for outcome in outcomes if outcome.status == "failed"]
        entry_kwargs = dict(
            tenant=tenant,
            content_type=content_type,
            window=window,
            outcomes=outcomes,
            started_at=started_at,
        )
        if failures:
            entry = _ledger_entry(**entry_kwargs, write=None, finished_at=clock())
            write_ledger(ledger_file, _keeping_file_of(entry, ledger_file), outcomes)
            raise IncompleteWindowError(tenant, content_type, window, failures)
        write = writer.commit()
    entry = _ledger_entry(**entry_kwargs, write=write, finished_at=clock())
    entry = replace(
        entry,
        file_path=write.path.relative_to(layout.root).as_posix(),
        file_rows=write.file_rows,
        file_sha256=write.file_sha256,
    )
    write_ledger(ledger_file, entry, outcomes)
    return IngestReport(ledger=entry, outcomes=tuple(outcomes), write=write)


def _land_blob(
    writer: AuditPartitionWriter,
    blob: ContentBlob,
    result: Path | ManagementApiError,
    *,
    tenant: str,
    ingested_at: datetime,
) -> tuple[BlobOutcome, bool]:
    """Convert one downloaded blob into the partition, batch by batch; delete its file.
    Also says whether the body was malformed (worth fetching again).
    """

    def outcome(
        status: str, records: int, error: str | None, *, malformed: bool = False
    ) -> tuple[BlobOutcome, bool]:
        landed = BlobOutcome(
            content_id=blob.content_id,
            content_created=blob.content_created,
            content_expiration=blob.content_expiration,
            status=status,
            records_read=records,
            error=error,
        )
        return landed, malformed

    if isinstance(result, ContentExpiredError):
        return outcome("expired", 0, str(result))
    if isinstance(result, ManagementApiError):
        return outcome("failed", 0, str(result))
    records = 0
    try:
        for batch in read_blob_batches(
            result,
            tenant=tenant,
            content_type=blob.content_type,
            content_id=blob.content_id,
            content_created=blob.content_created,
            ingested_at=ingested_at,
        ):
            writer.write(batch)
            records += batch.num_rows
    except MalformedBlobError as error:
        return outcome("failed", records, str(error), malformed=True)
    finally:
        result.unlink(missing_ok=True)
    return outcome("fetched", records, None)


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
