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


def load_listing(path: Path, content_type: str | None = None) -> list[ContentBlob]:
    """Read a saved listing back, in listing order, checked again: a file on disk or in a
    bucket is only as trustworthy as whoever could write there. Its URIs are checked once
    more, against the API host, before any request (see `api.trust`).

    Raises:
        ListingMissingError: no listing exists for the window yet.
        ListingDamagedError: the file cannot be read, or its rows are not a listing (of
            `content_type`, when given).

    """
    if not path.exists():
        raise ListingMissingError(
            f"No content listing at {path}: materialize the window's content_listing asset "
            "first (the audit table fetches exactly the blobs it lists)."
        )
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise ListingDamagedError(path, f"it cannot be read ({type(error).__name__})") from None
    missing = [name for name in LISTING_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ListingDamagedError(path, f"it has no column {', '.join(missing)}")
    blobs = []
    seen: set[str] = set()
    for index, row in enumerate(table.select(LISTING_SCHEMA.names).to_pylist()):
        problem = _row_problem(row, content_type, seen)
        if problem:
            raise ListingDamagedError(path, f"row {index} {problem}")
        seen.add(row["content_id"])
        blobs.append(
            ContentBlob(
                content_type=row["content_type"],
                content_id=row["content_id"],
                content_uri=row["content_uri"],
                content_created=row["content_created"].astimezone(UTC),
                content_expiration=row["content_expiration"].astimezone(UTC),
            )
        )
    return blobs


class ListingDamagedError(PipelineError, ValueError):
    """A saved listing that is unreadable or not a listing; nothing of it is used."""

    retriable = False

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The saved content listing {path} is damaged: {problem}. Nothing of it was used; "
            "re-materialize the window's content_listing partition to list it again."
        )


def _row_problem(row: dict, content_type: str | None, seen: set[str]) -> str | None:
    """What makes a listing row unusable, or None."""
    for name in ("content_type", "content_id", "content_uri"):
        if not isinstance(row[name], str) or not row[name].strip():
            return f"has no {name}"
    for name in ("content_created", "content_expiration"):
        if not isinstance(row[name], datetime):
            return f"has no {name}"
    if content_type is not None and row["content_type"] != content_type:
        return f"is of {row['content_type']}, not {content_type}"
    if row["content_id"] in seen:
        return f"repeats contentId {row['content_id'][:80]!r}"
    return None
