"""List the content blobs of one availability window and persist the listing.

The listing is the contract between the two assets of a window: the audit table fetches
exactly the blobs listed here, and the completeness check compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.content import ContentBlob
from o365_pipeline.api.windows import Window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import read_ledger
from o365_pipeline.storage.listings import save_listing


@dataclass(frozen=True)
class ListingReport:
    """What listing one window found."""

    path: Path
    blobs: tuple[ContentBlob, ...]
    listed_at: datetime
    # Blobs listed now that the window's last ingestion did not fetch (late blobs, or ones that
    # failed then); None when the window was never ingested.
    not_in_partition: tuple[str, ...] | None = None

    @property
    def newest_content_created(self) -> datetime | None:
        """The latest contentCreated in the window, or None when the window had no blobs."""
        return max((blob.content_created for blob in self.blobs), default=None)


def list_window(
    client: ManagementApiClient,
    layout: DataLayout,
    *,
    tenant: str,
    content_type: str,
    window: Window,
    now: datetime,
) -> ListingReport:
    """List every blob whose contentCreated falls in `window` and save the listing atomically.

    Raises:
        RetentionWindowError: the window starts more than 7 days before `now`.

    """
    blobs = tuple(client.list_content(content_type, window.start, window.end))
    path = layout.listing_file(content_type, tenant, window.start)
    save_listing(path, blobs, listed_at=now)
    return ListingReport(
        path=path,
        blobs=blobs,
        listed_at=now,
        not_in_partition=blobs_not_in_partition(layout, tenant, content_type, window, blobs),
    )


def blobs_not_in_partition(
    layout: DataLayout,
    tenant: str,
    content_type: str,
    window: Window,
    blobs: tuple[ContentBlob, ...],
) -> tuple[str, ...] | None:
    """Content ids in `blobs` that the window's last ingestion did not fetch.

    A window's listing can grow after it was ingested (Microsoft publishes some blobs hours
    late with an earlier contentCreated), so re-listing and comparing with the ledger is how a
    late blob becomes visible instead of silently missing.
    """
    ledger = read_ledger(layout.ledger_file(content_type, tenant, window.start))
    if ledger is None:
        return None
    _, outcomes = ledger
    fetched = {outcome.content_id for outcome in outcomes if outcome.status == "fetched"}
    return tuple(blob.content_id for blob in blobs if blob.content_id not in fetched)
