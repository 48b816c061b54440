"""Cut a large blob (one JSON array, often one line) into NDJSON pieces of a few MB, at element
boundaries, keeping each element's exact original text.

DuckDB's JSON reader sizes its buffers by the file: measured here, reading a 170 MB array took
about 150 MB beyond the process's baseline, while 8 MB pieces read one after another took the
same as one piece. Blobs of tens of MB exist (one peer's collector dies on a 68 MB blob), so
large bodies are cut before conversion and memory no longer grows with the size of a blob.
Only blobs above `SPLIT_ABOVE_BYTES` pay for the extra pass.

Hostile bodies end as one `BlobShapeError` naming the problem, never a raw exception: bytes
that are not UTF-8, an element nested deeper than Python's parser goes (about a thousand
levels; no audit record comes close), or an element longer than any record may be.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path

from o365_pipeline.api.blob_body import BlobShapeError

SPLIT_ABOVE_BYTES = 8 << 20
PIECE_BYTES = 4 << 20
_READ_BYTES = 1 << 20
# Bounds the text held at once (one element and one read); the reader refuses elements over
# its own 16 MB limit anyway, so nothing valid is refused here.
MAX_ELEMENT_CHARACTERS = (16 << 20) + _READ_BYTES
_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


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
            try:
                buffer = buffer[position:] + decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                offset = handle.tell() - len(chunk) + error.start
                raise BlobShapeError(f"the body is not UTF-8 (byte {offset})") from None
            position = 0
            if len(buffer) > MAX_ELEMENT_CHARACTERS:
                raise BlobShapeError(
                    f"an element is longer than {(MAX_ELEMENT_CHARACTERS - _READ_BYTES) >> 20} MB "
                    "(no audit record is)"
                )
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
                except RecursionError:
                    raise BlobShapeError(
                        f"element at character {position} is nested too deeply"
                    ) from None
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
