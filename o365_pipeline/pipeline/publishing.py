"""A window's copies in the object store: publish its committed files (audit Parquet, listing,
ledger, schema catalog) after a step, and fetch them back before a step that runs where they
are missing; the same for any other committed files (a tenant-day's findings, its report).
Without an object store these are no-ops, so callers need no branch of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from o365_pipeline.api.windows import Window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import BLOBS_FILE_NAME
from o365_pipeline.storage.object_store import ObjectStore, ObjectStoreError


@dataclass(frozen=True)
class WindowCopies:
    """One window of one tenant and content type, between the local folder and the store."""

    store: ObjectStore | None
    layout: DataLayout
    content_type: str
    tenant: str
    window: Window

    def files(self) -> list[Path]:
        """The window's committed files: audit Parquet, listing, ledger rows, schema catalog."""
        start = self.window.start
        ledger = self.layout.ledger_file(self.content_type, self.tenant, start)
        return [
            self.layout.audit_file(self.content_type, self.tenant, start),
            self.layout.listing_file(self.content_type, self.tenant, start),
            ledger,
            ledger.with_name(BLOBS_FILE_NAME),
            self.layout.schema_catalog_file(self.content_type),
        ]

    def fetch(self) -> list[Path]:
        """Bring the published files missing locally (an earlier step ran elsewhere)."""
        if self.store is None:
            return []
        try:
            return self.store.fetch_missing(self.layout.root, self.files())
        except OSError as error:
            raise self._failure("Fetching", "from", error) from None

    def publish(self) -> list[str] | None:
        """Upload the files that exist locally; their URLs (None without an object store).

        Raises:
            ObjectStoreError: an upload failed (the local files stay; re-run to publish again).

        """
        if self.store is None:
            return None
        try:
            return self.store.publish(self.layout.root, self.files())
        except OSError as error:
            raise self._failure("Publishing", "to", error) from None

    def _failure(self, action: str, preposition: str, error: OSError) -> ObjectStoreError:
        return ObjectStoreError(
            f"{action} {self.content_type} {self.tenant} {self.window.label} {preposition} "
            f"{self.store.url} failed ({type(error).__name__}: {error}). The local files are "
            "intact; re-materialize the partition to publish again."
        )


def publish_files(
    store: ObjectStore | None, data_root: Path, files: Sequence[Path], what: str
) -> list[str] | None:
    """Upload the committed `files` that exist under the same keys; their URLs (None without
    an object store).

    Raises:
        ObjectStoreError: an upload failed, naming `what` (e.g. "the findings of contoso
            2026-11-25"), the store and the fix; the local files stay.

    """
    if store is None:
        return None
    try:
        return store.publish(Path(data_root), files)
    except OSError as error:
        raise _store_failure("Publishing", what, "to", store, error) from None


def fetch_files(
    store: ObjectStore | None, data_root: Path, files: Sequence[Path], what: str
) -> list[Path]:
    """Bring the published copies of `files` that are missing locally (an earlier run of the
    same step ran on another machine); the files fetched ([] without an object store).
    """
    if store is None:
        return []
    try:
        return store.fetch_missing(Path(data_root), files)
    except OSError as error:
        raise _store_failure("Fetching", what, "from", store, error) from None


def _store_failure(
    action: str, what: str, preposition: str, store: ObjectStore, error: OSError
) -> ObjectStoreError:
    return ObjectStoreError(
        f"{action} {what} {preposition} {store.url} failed ({type(error).__name__}: {error}). "
        "The local files are intact; re-materialize the partition to try again."
    )
