"""Land many windows of one tenant and content type in one go: list each, fetch and write each,
concurrently across windows, each window complete or failed on its own.

Why: a run that lands one window per process pays Dagster's launch and code-location load per
hour; a backfill of a day or a week in one run pays it once, and its windows overlap their
network waits. Each window still gets its own listing, ledger row, atomic Parquet file, checks
and metadata, exactly as a run of that window alone would produce.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.windows import Window
from o365_pipeline.errors import PipelineError
from o365_pipeline.pipeline.audit_table import IngestReport, ingest_window
from o365_pipeline.pipeline.listing import ListingReport, list_window
from o365_pipeline.pipeline.partition_summary import PartitionSummary
from o365_pipeline.pipeline.publishing import WindowCopies
from o365_pipeline.pipeline.schema_report import report_profile_drift
from o365_pipeline.pipeline.verification import VerificationReport, verify_window
from o365_pipeline.records.schema_drift import SchemaDrift
from o365_pipeline.storage.layout import DataLayout, StoredPartition
from o365_pipeline.storage.object_store import ObjectStore

# Windows in flight at once per tenant and content type; each fetches its blobs with the
# client's own concurrency, all under the client's connection limit and the tenant's shared
# request budget (so more windows here mean more overlap, not more load on the service).
CONCURRENT_WINDOWS = 4
# The schema catalog of a content type is one file that every window updates.
_catalog_lock = threading.Lock()


@dataclass(frozen=True)
class WindowLanding:
    """What landing one window did: its listing and, when ingested, its write and checks."""

    window: Window
    listing: ListingReport | None
    ingest: IngestReport | None
    summary: PartitionSummary | None
    drift: SchemaDrift | None
    verification: VerificationReport | None
    published: list[str] | None


@dataclass(frozen=True)
class WindowFailure:
    """A window that could not be landed, and why (its previous files are untouched)."""

    window: Window
    error: PipelineError


def land_window(
    client: ManagementApiClient,
    layout: DataLayout,
    store: ObjectStore | None,
    *,
    tenant: str,
    content_type: str,
    window: Window,
    list_it: bool = True,
    ingest_it: bool = True,
    clock: Callable[[], datetime],
) -> WindowLanding:
    """List the window (when `list_it`), then fetch and write it (when `ingest_it`).

    Raises:
        PipelineError: the window could not be listed, fetched, written or published.

    """
    copies = WindowCopies(store, layout, content_type, tenant, window)
    copies.fetch()
    listing = ingest = summary = drift = verification = None
    if list_it:
        listing = list_window(
            client, layout, tenant=tenant, content_type=content_type, window=window, now=clock()
        )
    if ingest_it:
        ingest = ingest_window(
            client, layout, tenant=tenant, content_type=content_type, window=window, clock=clock
        )
        summary = ingest.summary
        verification = verify_window(layout, StoredPartition(content_type, tenant, window.start))
        with _catalog_lock:
            drift = report_profile_drift(layout, content_type, ingest.profile)
    published = copies.publish()
    return WindowLanding(window, listing, ingest, summary, drift, verification, published)


def land_windows(
    client: ManagementApiClient,
    layout: DataLayout,
    store: ObjectStore | None,
    *,
    tenant: str,
    content_type: str,
    windows: Sequence[Window],
    list_it: bool = True,
    ingest_it: bool = True,
    clock: Callable[[], datetime],
    concurrency: int = CONCURRENT_WINDOWS,
) -> Iterator[WindowLanding | WindowFailure]:
    """`land_window` for each window, up to `concurrency` at once; outcomes in window order.

    A window's failure is yielded as a `WindowFailure` and does not stop the others.
    """

    def land(window: Window) -> WindowLanding | WindowFailure:
        try:
            return land_window(
                client,
                layout,
                store,
                tenant=tenant,
                content_type=content_type,
                window=window,
                list_it=list_it,
                ingest_it=ingest_it,
                clock=clock,
            )
        except PipelineError as error:
            return WindowFailure(window, error)

    if len(windows) <= 1 or concurrency <= 1:
        yield from map(land, windows)
        return
    with ThreadPoolExecutor(
        max_workers=min(concurrency, len(windows)), thread_name_prefix="window"
    ) as pool:
        yield from pool.map(land, windows)
