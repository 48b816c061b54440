"""A window's copies in the object store: publish its committed files (audit Parquet, listing,
ledger, schema catalog) after a step, and fetch them back before a step that runs where they
are missing. Without an object store both are no-ops, so callers need no branch of their own.
"""

from __future__ import annotations

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
