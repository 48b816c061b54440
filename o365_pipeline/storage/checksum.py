"""The SHA-256 of a committed file, read in chunks so an hour of a large tenant costs the same
little memory as an empty one.

The ledger records it for every audit Parquet file it commits, so a later byte-for-byte
comparison (`o365-pipeline verify`) can tell a damaged or replaced file from the one written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_BYTES = 1 << 20


def sha256_of_file(path: Path) -> str:
    """The lowercase hex SHA-256 of the bytes at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
