"""Find the recent windows whose saved listing holds blobs their partition does not (late
blobs): a comparison of two local files per window, the listing and the ledger, so a sensor
can ask it every few minutes without calling the API. The re-listing itself is a run of the
listing assets, which the sensor requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from o365_pipeline.api.windows import Window
from o365_pipeline.errors import PipelineError
from o365_pipeline.pipeline.listing import blobs_not_in_partition
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.listings import load_listing


@dataclass(frozen=True)
class ChangedWindow:
    """A window with blobs listed that its partition does not hold."""

    window: Window
    new_content_ids: tuple[str, ...]


def changed_windows(
    layout: DataLayout, *, tenant: str, content_type: str, windows: Iterable[Window]
) -> list[ChangedWindow]:
    """The already-ingested windows whose newest saved listing names blobs their partition
    lacks. Windows never ingested are skipped (the schedule lands them); a listing that cannot
    be read is skipped too (the next listing run replaces it, and `verify` names it).
    """
    changed = []
    for window in windows:
        if not layout.ledger_file(content_type, tenant, window.start).exists():
            continue
        listing_file = layout.listing_file(content_type, tenant, window.start)
        if not listing_file.exists():
            continue
        try:
            blobs = tuple(load_listing(listing_file, content_type))
        except PipelineError:
            continue
        missing = blobs_not_in_partition(layout, tenant, content_type, window, blobs)
        if missing:
            changed.append(ChangedWindow(window, missing))
    return changed
