"""Persist the content listing of a window: the contract between the listing asset and the
audit-table asset (the table fetches exactly these blobs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from o365_pipeline.api.content import ContentBlob
from o365_pipeline.errors import PipelineError
from o365_pipeline.storage.atomic import publish, temporary_path_for

_TIMESTAMP = pa.timestamp("us", tz="UTC")
LISTING_SCHEMA = pa.schema(
    [
        ("content_type", pa.string()),
        ("content_id", pa.string()),
        ("content_uri", pa.string()),
        ("content_created", _TIMESTAMP),
        ("content_expiration", _TIMESTAMP),
        ("listed_at", _TIMESTAMP),
    ]
)


class ListingMissingError(PipelineError, FileNotFoundError):
    """The audit table was asked for a window whose listing was never saved."""


def save_listing(path: Path, blobs: Sequence[ContentBlob], *, listed_at: datetime) -> None:
    """Write the listing atomically (a crash leaves the previous listing)."""
    table = pa.Table.from_pylist(
        [
            {
                "content_type": blob.content_type,
                "content_id": blob.content_id,
                "content_uri": blob.content_uri,
                "content_created": blob.content_created,
                "content_expiration": blob.content_expiration,
                "listed_at": listed_at,
            }
            for blob in blobs
        ],
        schema=LISTING_SCHEMA,
    )
    temporary = temporary_path_for(path)
    pq.write_table(table, temporary)
    publish(temporary, path)


def load_listing(path: Path) -> list[ContentBlob]:
    """Read a saved listing back, in listing order.

    Raises:
        ListingMissingError: no listing exists for the window yet.

    """
    if not path.exists():
        raise ListingMissingError(
            f"No content listing at {path}: materialize the window's content_listing asset "
            "first (the audit table fetches exactly the blobs it lists)."
        )
    return [
        ContentBlob(
            content_type=row["content_type"],
            content_id=row["content_id"],
            content_uri=row["content_uri"],
            content_created=row["content_created"].astimezone(UTC),
            content_expiration=row["content_expiration"].astimezone(UTC),
        )
        for row in pq.read_table(path).to_pylist()
    ]
