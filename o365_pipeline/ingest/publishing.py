"""Publish a window's committed files (audit Parquet, listing, ledger, schema catalog) to the
object store, and fetch them back when a step runs where they are missing.
"""

from __future__ import annotations

from o365_pipeline.api.windows import Window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import BLOBS_FILE_NAME
from o365_pipeline.storage.object_store import ObjectStore, ObjectStoreError


def window_files(layout: DataLayout, content_type: str, tenant: str, window: Window) -> list:
    """The committed files of one window: audit Parquet, listing, ledger and its blob rows."""
    ledger = layout.ledger_file(content_type, tenant, window.start)
    return [
        layout.audit_file(content_type, tenant, window.start),
        layout.listing_file(content_type, tenant, window.start),
        ledger,
        ledger.with_name(BLOBS_FILE_NAME),
        layout.schema_catalog_file(content_type),
    ]


def fetch_window(
    store: ObjectStore, layout: DataLayout, *, content_type: str, tenant: str, window: Window
) -> list:
    """Bring the window's published files that are missing locally (an earlier step's listing,
    the ledger the late-blob check compares with, the schema catalog).
    """
    try:
        return store.fetch_missing(layout.root, window_files(layout, content_type, tenant, window))
    except OSError as error:
        raise ObjectStoreError(
            f"Fetching {content_type} {tenant} {window.label} from {store.url} failed "
            f"({type(error).__name__}: {error})."
        ) from None


def publish_window(
    store: ObjectStore, layout: DataLayout, *, content_type: str, tenant: str, window: Window
) -> list[str]:
    """Upload the window's files that exist locally; the URLs written.

    Raises:
        ObjectStoreError: an upload failed (the local files stay; re-run to publish again).

    """
    files = window_files(layout, content_type, tenant, window)
    try:
        return store.publish(layout.root, files)
    except OSError as error:
        raise ObjectStoreError(
            f"Publishing {content_type} {tenant} {window.label} to {store.url} failed "
            f"({type(error).__name__}: {error}). The local files are intact; re-materialize the "
            "partition to publish again."
        ) from None
