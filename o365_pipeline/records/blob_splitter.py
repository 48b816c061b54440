"""Cut a large blob (one JSON array, often one line) into NDJSON pieces of a few MB, at element
boundaries, keeping each element's exact original text.

DuckDB's JSON reader sizes its buffers by the file: measured here, reading a 170 MB array took
about 150 MB beyond the process's baseline, while 8 MB pieces read one after another took the
same as one piece. Blobs of tens of MB exist (one peer's collector dies on a 68 MB blob), so
large bodies are cut before conversion and memory no longer grows with the size of a blob.
Only blobs above `SPLIT_ABOVE_BYTES` pay for the extra pass.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path

from o365_pipeline.errors import PipelineError

SPLIT_ABOVE_BYTES = 8 << 20
PIECE_BYTES = 4 << 20
_READ_BYTES = 1 << 20
_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


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


def split_array_file(path: Path, folder: Path, piece_bytes: int = PIECE_BYTES) -> list[Path]:
    """Write the elements of the JSON array at `path` as NDJSON pieces in `folder`, in order.

    Raises:
        BlobShapeError: not a JSON array, an element that does not parse, or a body cut short.

    """
    pieces: list[Path] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            piece = folder / f"{path.stem}-{len(pieces):05d}.ndjson"
            piece.write_text("\n".join(current), encoding="utf-8")
            pieces.append(piece)
            current, size = [], 0

    for element in _elements(path):
        current.append(element)
        size += len(element)
        if size >= piece_bytes:
            flush()
    flush()
    return pieces


def _elements(path: Path) -> Iterator[str]:
    """The exact text of each top-level array element, streaming the file in 1 MB reads."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer, position, started, finished = "", 0, False, False
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_READ_BYTES)
            buffer = buffer[position:] + decoder.decode(chunk, final=not chunk)
            position = 0
            while True:
                position = _skip_space(buffer, position)
                if position >= len(buffer):
                    break
                if not started:
                    if buffer[position] != "[":
                        raise BlobShapeError("the body does not start with '['")
                    started, position = True, position + 1
                    continue
                if buffer[position] == "]":
                    finished = True
                    position += 1
                    break
                if buffer[position] == ",":
                    position += 1
                    continue
                try:
                    _, end = _DECODER.raw_decode(buffer, position)
                except json.JSONDecodeError as error:
                    if chunk:  # maybe the element continues in the next read
                        break
                    if error.pos >= len(buffer):
                        raise BlobShapeError("the body ends before the closing ']'") from None
                    raise BlobShapeError(f"element at character {position}: {error.msg}") from None
                if end == len(buffer) and chunk:
                    break  # a number at the very end may continue in the next read
                yield buffer[position:end]
                position = end
            if finished:
                if _skip_space(buffer, position) < len(buffer) or handle.read().strip():
                    raise BlobShapeError("text after the closing ']'")
                return
            if not chunk:
                raise BlobShapeError("the body ends before the closing ']'")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
        position += 1
    return position
