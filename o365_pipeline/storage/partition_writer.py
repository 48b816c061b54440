"""Write one audit partition as one Parquet file, streaming record batches, dropping repeated Ids,
and publishing atomically.

Microsoft delivers the same record more than once; inside a partition the first delivery (in
listing order) is kept. The Ids already written are remembered in an `IdSet` (16 bytes each,
beyond a million of them on disk beside the partition), so memory does not grow with the hour.
The file is only published by `commit()`: leaving the `with` block any other way leaves the
previous good file untouched. `commit()` hashes and counts the closed temporary file before the
rename, so the ledger describes exactly the bytes that were published.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.storage.atomic import discard, publish, temporary_path_for
from o365_pipeline.storage.checksum import sha256_of_file
from o365_pipeline.storage.id_set import IdSet


@dataclass(frozen=True)
class PartitionWriteResult:
    """What a committed partition holds."""

    path: Path
    rows_written: int
    duplicates_dropped: int
    bytes_written: int
    creation_time_min: datetime | None
    creation_time_max: datetime | None
    file_rows: int
    file_sha256: str


class AuditPartitionWriter:
    """Stream batches into a partition file; see the module docstring for the guarantees."""

    def __init__(self, path: Path, schema: pa.Schema = AUDIT_SCHEMA) -> None:
        self.path = Path(path)
        self._schema = schema
        self._temporary = temporary_path_for(self.path)
        self._writer = pq.ParquetWriter(self._temporary, schema, compression="zstd")
        self._spill = tempfile.TemporaryDirectory(prefix=".ids-", dir=self.path.parent)
        self._seen_ids = IdSet(spill_folder=Path(self._spill.name))
        self._rows = 0
        self._duplicates = 0
        self._creation_min: datetime | None = None
        self._creation_max: datetime | None = None
        self._finished = False

    def __enter__(self) -> AuditPartitionWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._finished:
            self._writer.close()
            discard(self._temporary)
            self._finished = True
        self._spill.cleanup()

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append the rows of `batch` (a record batch or a table) whose Id is new here."""
        keep = self._seen_ids.admit(batch.column("Id"))
        kept = batch if keep.all() else batch.filter(pa.array(keep, type=pa.bool_()))
        self._duplicates += batch.num_rows - kept.num_rows
        if kept.num_rows == 0:
            return
        self._writer.write(kept)
        self._rows += kept.num_rows
        bounds = pc.min_max(kept.column("CreationTime"))
        self._creation_min = _earliest(self._creation_min, bounds["min"].as_py())
        self._creation_max = _latest(self._creation_max, bounds["max"].as_py())

    def commit(self) -> PartitionWriteResult:
        """Close the file and atomically put it in place of the previous partition file."""
        self._writer.close()
        size = self._temporary.stat().st_size
        file_rows = pq.read_metadata(self._temporary).num_rows
        file_sha256 = sha256_of_file(self._temporary)
        publish(self._temporary, self.path)
        self._finished = True
        return PartitionWriteResult(
            path=self.path,
            rows_written=self._rows,
            duplicates_dropped=self._duplicates,
            bytes_written=size,
            creation_time_min=self._creation_min,
            creation_time_max=self._creation_max,
            file_rows=file_rows,
            file_sha256=file_sha256,
        )


def _earliest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or candidate < current else current


def _latest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current
