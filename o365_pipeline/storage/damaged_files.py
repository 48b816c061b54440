"""Which Parquet files cannot be opened at all, found by reading each one's footer.

One truncated or overwritten file must not take every query down with it: DuckDB binds a view
over a glob by reading every footer, so a single bad one fails even `SELECT 1`. Reading the
footer (the last few kilobytes) is what DuckDB does first anyway, so checking it here costs
about one small read per file; damage inside a data page with an intact footer is not seen
here, only by `o365-pipeline verify` (which compares every byte with the ledger's SHA-256).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

# Footer reads are small and mostly waiting (a disk seek, an object-store round trip), and
# pyarrow releases the GIL while it waits, so a few threads hide that latency.
FOOTER_READERS = 16


@dataclass(frozen=True)
class DamagedFile:
    """A file left out of the views, and why it could not be opened."""

    path: str
    reason: str

    def sentence(self) -> str:
        """One line for stderr or a log, naming the file and the next step."""
        return f"skipped damaged file {self.path}: {self.reason}; run o365-pipeline verify"


def find_damaged(paths: Sequence[str], filesystem: object | None = None) -> list[DamagedFile]:
    """The files among `paths` whose Parquet footer cannot be read (in the order given).
    `filesystem` is an fsspec filesystem when the paths are object-store keys.
    """
    with ThreadPoolExecutor(max_workers=FOOTER_READERS) as pool:
        reasons = list(pool.map(lambda path: footer_problem(path, filesystem), paths))
    return [
        DamagedFile(path, reason) for path, reason in zip(paths, reasons, strict=True) if reason
    ]


def footer_problem(path: str, filesystem: object | None = None) -> str | None:
    """Why the footer of `path` cannot be read, or None when it can."""
    try:
        pq.read_metadata(path, filesystem=filesystem)
    except (pa.ArrowException, OSError) as error:
        return " ".join(str(error).split()).rstrip(".") or type(error).__name__
    return None
