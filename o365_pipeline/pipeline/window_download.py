"""Download a window's blobs and load them for conversion as they arrive, not after the last.

Why: converting is CPU work and downloading is mostly waiting, so a large window that fetched
everything first and converted afterwards took the sum of the two; loading each run of
downloaded bodies (in listing order, about `STREAM_LOAD_BYTES` at a time) while the next ones
are still in flight takes closer to the longer of the two. The order, and so the rows, are the
same as one load of every body: the downloads are yielded in listing order, and each load
appends after the previous one.

This is the fast path only. An expired blob is skipped here as there (its loss is the
ledger's); when a blob fails, or a body does not parse, the window is left to the careful path
(`audit_table`), which converts every fetched body again from its file and asks the transport
for a malformed one again; nothing is decided here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.content import ContentBlob
from o365_pipeline.api.errors import ContentExpiredError, ManagementApiError
from o365_pipeline.records.window_records import BlobFile, MalformedBlobError, WindowRecords

STREAM_LOAD_BYTES = 32 << 20

Downloads = list[tuple[ContentBlob, Path | ManagementApiError]]


def download_and_load(
    client: ManagementApiClient,
    blobs: Sequence[ContentBlob],
    folder: Path,
    records: WindowRecords,
) -> tuple[Downloads, bool]:
    """Every blob's `(blob, file or error)` in listing order, and whether `records` now holds
    every fetched one, checked (`WindowRecords.finish`): True only when each blob was fetched
    (or expired) and each body parsed as records.
    """
    downloads: Downloads = []
    pending: list[BlobFile] = []
    pending_bytes = 0
    streaming = True
    for blob, result in client.download_blobs(blobs, folder):
        downloads.append((blob, result))
        if not streaming:
            continue  # the rest still downloads, for the careful path
        if isinstance(result, ContentExpiredError):
            continue
        if not isinstance(result, Path):
            streaming = False
            continue
        pending.append(BlobFile(result, blob.content_id, blob.content_created))
        pending_bytes += result.stat().st_size
        if pending_bytes >= STREAM_LOAD_BYTES:
            streaming = _extended(records, pending)
            pending, pending_bytes = [], 0
    if streaming:
        streaming = _extended(records, pending) and _finished(records)
    return downloads, streaming


def _extended(records: WindowRecords, blobs: list[BlobFile]) -> bool:
    try:
        records.extend(blobs)
    except MalformedBlobError:
        return False
    return True


def _finished(records: WindowRecords) -> bool:
    try:
        records.finish()
    except MalformedBlobError:
        return False
    return True
