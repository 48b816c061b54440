"""Publish a window's committed files (audit Parquet, listing, ledger) to the object store."""

from __future__ import annotations

from o365_pipeline.api.windows import Window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import BLOBS_FILE_NAME
from o365_pipeline.storage.object_store import ObjectStore, ObjectStoreError


def publish_window(
    store: ObjectStore, layout: DataLayout, *, content_type: str, tenant: str, window: Window
) -> list[str]:
    """Upload the window's files that exist locally; the URLs written.

    Raises:
        ObjectStoreError: an upload failed (the local files stay; re-run to publish again).

    """
    ledger = layout.ledger_file(content_type, tenant, window.start)
    files = [
        layout.audit_file(content_type, tenant, window.start),
        layout.listing_file(content_type, tenant, window.start),
        ledger,
        ledger.with_name(BLOBS_FILE_NAME),
    ]
    try:
        return store.publish(layout.root, files)
    except OSError as error:
        raise ObjectStoreError(
            f"Publishing {content_type} {tenant} {window.label} to {store.url} failed "
            f"({type(error).__name__}: {error}). The local files are intact; re-materialize the "
            "partition to publish again."
        ) from None
