"""What a content blob's body must be: one complete JSON array. Checked by the transport on
every download (a refused body is asked for again under the retry policy) and by the records
reader before it converts anything.
"""

from __future__ import annotations

from pathlib import Path

from o365_pipeline.errors import PipelineError


class BlobShapeError(PipelineError, ValueError):
    """The body is not a JSON array (or is cut short); the message says where."""


_ENVELOPE_PROBE_BYTES = 4096
_UTF8_BOM = b"\xef\xbb\xbf"


def check_array_envelope(path: Path) -> None:
    """Refuse a body that cannot be one complete JSON array, whatever its framing said.

    A body cut short can still arrive with an honest-looking Content-Length, chunked end or
    closed connection, and a JSON reader may accept what it got: an empty or whitespace body,
    or an array cut after a comma or after a complete element. Every complete array starts with
    `[` and ends with `]` with no comma before it, so the first and last bytes decide those
    cases without reading the middle (the reader then checks everything in between).

    Raises:
        BlobShapeError: naming what is wrong with the envelope.

    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(_ENVELOPE_PROBE_BYTES).removeprefix(_UTF8_BOM).lstrip(b" \t\r\n")
        handle.seek(max(0, size - _ENVELOPE_PROBE_BYTES))
        tail = handle.read().rstrip(b" \t\r\n")
    if not head:
        raise BlobShapeError("the body is empty or only whitespace, not a JSON array")
    if not head.startswith(b"["):
        raise BlobShapeError(f"the body starts with {head[:20]!r}, not with a JSON array")
    if not tail.endswith(b"]"):
        raise BlobShapeError(f"the body ends with {tail[-20:]!r}: the array is not closed (cut)")
    if tail[:-1].rstrip(b" \t\r\n").endswith(b","):
        raise BlobShapeError("the array ends with a comma before `]` (cut or not JSON)")
