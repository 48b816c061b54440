"""Find the recent windows whose listing grew after they were ingested (late blobs), by
re-listing them and comparing with the ledger. Only those need re-materializing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.windows import Window
from o365_pipeline.pipeline.listing import blobs_not_in_partition
from o365_pipeline.storage.layout import DataLayout


@dataclass(frozen=True)
class ChangedWindow:
    """A window with blobs listed now that its partition does not hold."""

    window: Window
    new_content_ids: tuple[str, ...]


def changed_windows(
    client: ManagementApiClient,
    layout: DataLayout,
    *,
    tenant: str,
    content_type: str,
    windows: Iterable[Window],
) -> list[ChangedWindow]:
    """Re-list each already-ingested window; return those whose listing grew. Windows never
    ingested are skipped (the schedule lands them), so this costs one listing per ingested window.
    """
    changed = []
    for window in windows:
        if not layout.ledger_file(content_type, tenant, window.start).exists():
            continue
        blobs = tuple(client.list_content(content_type, window.start, window.end))
        missing = blobs_not_in_partition(layout, tenant, content_type, window, blobs)
        if missing:
            changed.append(ChangedWindow(window, missing))
    return changed
