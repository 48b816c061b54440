"""Convert all the downloaded blobs of one window with one DuckDB load, not one query per blob.

Why: measured here on 100 blobs of ~100 records, a query per blob spent most of its time
setting queries up and writing 100-row batches (1.6 CPU-s for 10k records); the same records
loaded in one statement per window and written in 16k-row batches cost a fraction of that. The
load goes into a temporary table of the thread's connection, whose row order is the load order
(DuckDB preserves insertion order; the connection is single-threaded), so scanning it back
gives the records in listing order and within a blob in the blob's order: the first
delivery of a repeated Id stays the one that is kept. The same table answers the schema-drift
question (the distinct `json_structure` of the records) without reading the Parquet back.

Large blobs are read from their NDJSON pieces (see `blob_splitter`) in their listing position.
Elements that are not objects with a string `Id` make their blob malformed; the error names the
blob, its position in the window and the element's index.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from o365_pipeline.api.blob_body import BlobShapeError, check_array_envelope
from o365_pipeline.errors import PipelineError
from o365_pipeline.records.blob_splitter import SPLIT_ABOVE_BYTES, split_array_file
from o365_pipeline.records.record_types import RECORD_TYPE_NAMES
from o365_pipeline.records.schema import AUDIT_SCHEMA

BATCH_ROWS = 16_384
MAX_RECORD_BYTES = 16 << 20
# The conversion's memory ceiling, shared by all windows converting at once; beyond it their
# loads spill to disk instead of growing memory.
MEMORY_LIMIT = "256MB"
# Windows converting at once: the work is CPU-bound, and each load holds a 32 MB read buffer,
# so more loads than cores would only add memory. The others wait, their bodies on disk.
CONCURRENT_LOADS = max(2, os.cpu_count() or 2)
_loads = threading.BoundedSemaphore(CONCURRENT_LOADS)
_TYPED_FIELDS = (
    "Id",
    "CreationTime",
    "RecordType",
    "UserType",
    "Operation",
    "Workload",
    "UserId",
    "UserKey",
    "ClientIP",
    "ObjectId",
    "ResultStatus",
    "OrganizationId",
)
_TABLE = "window_records"
_FIRST = "window_first_deliveries"
_local = threading.local()


class ConversionMemoryError(PipelineError, MemoryError):
    """The conversion needed more memory than its limit (not the blob's fault)."""

    retriable = True


class MalformedBlobError(PipelineError, ValueError):
    """A blob body that is not a JSON array of audit records; `blob_index` says which of the
    window's blobs (None when not known).
    """

    def __init__(self, message: str, blob_index: int | None = None) -> None:
        super().__init__(message)
        self.blob_index = blob_index


@dataclass(frozen=True)
class BlobFile:
    """One downloaded blob body on disk, with what its rows record about where they came from."""

    path: Path
    content_id: str
    content_created: datetime


class WindowRecords:
    """The records of a window's blobs, loaded once: `with WindowRecords(blobs, ...) as loaded:`
    then `loaded.records_per_blob`, `loaded.batches()`, and SQL over
    `loaded.first_deliveries()` on `loaded.connection`.

    Raises (on entering):
        MalformedBlobError: a blob is not a JSON array of records (named, with `blob_index`).

    """

    def __init__(
        self,
        blobs: Sequence[BlobFile],
        *,
        tenant: str,
        content_type: str,
        ingested_at: datetime,
    ) -> None:
        self._blobs = list(blobs)
        self._tenant = tenant
        self._content_type = content_type
        self._ingested_at = ingested_at.astimezone(UTC)
        self._stack = ExitStack()
        self.records_per_blob: list[int] = [0] * len(self._blobs)
        self._first_made = False

    def __enter__(self) -> WindowRecords:
        self._connection = _connection()
        self._connection.execute(f"CREATE OR REPLACE TEMP TABLE {_TABLE} ({_TABLE_COLUMNS})")
        self._stack.callback(self._connection.execute, f"DROP TABLE IF EXISTS {_TABLE}")
        try:
            self._load_from(0)
            if self._blobs:
                self.finish()
        except BaseException:
            self._stack.close()
            raise
        return self

    def extend(self, blobs: Sequence[BlobFile]) -> None:
        """Load more of the window's blobs (the next ones in listing order) now, while the
        rest are still downloading; `finish()` once the last is in.

        Raises:
            MalformedBlobError: one of these blobs does not parse as a JSON array.

        """
        start = len(self._blobs)
        self._blobs.extend(blobs)
        self.records_per_blob.extend([0] * len(blobs))
        self._load_from(start)

    def finish(self) -> None:
        """Count each blob's records and refuse the first element that is not a record.

        Raises:
            MalformedBlobError: naming the blob and the element's index.

        """
        self._count_and_check()

    def _load_from(self, start: int) -> None:
        # One load per core at a time (see CONCURRENT_LOADS); not held between loads, so a
        # window waiting for its next blobs does not hold back another window's conversion.
        with _loads:
            for run in self._runs(start):
                self._load(run)

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The connection holding the loaded records (valid inside the `with` block)."""
        return self._connection

    def first_deliveries(self) -> str:
        """A table of the first delivery of each Id (what the partition file keeps), without
        `raw_json` but with each record's `json_structure` as `structure`; made on first use.
        """
        if not self._first_made:
            self._connection.execute(
                f"""CREATE OR REPLACE TEMP TABLE {_FIRST} AS
                    SELECT * EXCLUDE (raw_json, _problem, _structure), _structure AS structure
                    FROM {_TABLE}
                    QUALIFY row_number() OVER (PARTITION BY Id ORDER BY rowid) = 1"""
            )
            self._stack.callback(self._connection.execute, f"DROP TABLE IF EXISTS {_FIRST}")
            self._first_made = True
        return _FIRST

    def batches(self, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Every loaded record as `AUDIT_SCHEMA` batches, in listing order then blob order."""
        columns = ", ".join(f'"{name}"' for name in AUDIT_SCHEMA.names)
        # A scan of one table keeps the table's row order (DuckDB documents it: "Order
        # Preservation", with `preserve_insertion_order` on), and that order is the load order.
        # An `ORDER BY rowid` would sort the whole window, raw JSON included: about 3× the
        # cost of the scan, measured on 300k rows.
        with _loads:
            reader = self._connection.sql(f"SELECT {columns} FROM {_TABLE}").to_arrow_reader(
                batch_rows
            )
            yield from (self._typed(batch) for batch in reader)

    @staticmethod
    def _typed(batch: pa.RecordBatch) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays(
            [
                batch.column(name).cast(field.type)
                for name, field in zip(AUDIT_SCHEMA.names, AUDIT_SCHEMA, strict=True)
            ],
            schema=AUDIT_SCHEMA,
        )

    def _runs(self, start: int) -> Iterator[tuple[str, list[tuple[int, Path]]]]:
        """Consecutive sources of one format: (format, [(blob index, file)]), in listing order,
        from blob `start` on. A large blob is read from its NDJSON pieces, cut beside it
        (removed on exit).
        """
        run_format, run = "array", []
        for index, blob in enumerate(self._blobs[start:], start=start):
            try:
                check_array_envelope(blob.path)
            except BlobShapeError as error:
                raise self._malformed(index, str(error)) from None
            if blob.path.stat().st_size <= SPLIT_ABOVE_BYTES:
                sources, source_format = [(index, blob.path)], "array"
            else:
                folder = Path(
                    self._stack.enter_context(
                        tempfile.TemporaryDirectory(prefix="pieces-", dir=blob.path.parent)
                    )
                )
                try:
                    pieces = split_array_file(blob.path, folder)
                except BlobShapeError as error:
                    raise self._malformed(index, str(error)) from None
                sources, source_format = [(index, piece) for piece in pieces], "newline_delimited"
            if run and source_format != run_format:
                yield run_format, run
                run = []
            run_format = source_format
            run.extend(sources)
        if run:
            yield run_format, run

    def _load(self, run: tuple[str, list[tuple[int, Path]]]) -> None:
        """Append one run's records; when the run does not parse, load its blobs one by one so
        the error names the blob that is at fault.
        """
        source_format, sources = run
        try:
            self._insert(source_format, sources)
        except duckdb.OutOfMemoryException:
            raise ConversionMemoryError(
                f"Converting {len(sources)} blob file(s) of {self._content_type} ran out of the "
                f"conversion's {MEMORY_LIMIT} memory limit; the window is retried on its next "
                "run. If it persists, the host is short of memory for this window's size."
            ) from None
        except (duckdb.Error, OSError) as error:
            if len({index for index, _ in sources}) == 1:
                index = sources[0][0]
                raise self._malformed(index, str(error).splitlines()[0][:200]) from None
            for _, group in itertools.groupby(sources, key=lambda source: source[0]):
                self._load((source_format, list(group)))

    def _insert(self, source_format: str, sources: list[tuple[int, Path]]) -> None:
        files = [str(path) for _, path in sources]
        blob_of_file = {str(path): index for index, path in sources}
        indices = sorted(set(blob_of_file.values()))
        content_ids = {index: self._blobs[index].content_id for index in indices}
        created = {index: self._blobs[index].content_created.astimezone(UTC) for index in indices}
        self._connection.execute(
            f"INSERT INTO {_TABLE} "
            + _QUERY.replace("{format}", source_format).replace(
                "{largest}", str(_largest_object([path for _, path in sources]))
            ),
            [
                self._tenant,
                self._content_type,
                self._ingested_at,
                blob_of_file,
                {index: content_ids[index] for index in indices},
                {index: created[index] for index in indices},
                files,
            ],
        )

    def _count_and_check(self) -> None:
        """Rows per blob, and the first element that is not an audit record, if any."""
        for index, count in self._connection.execute(
            f"SELECT _blob, count(*) FROM {_TABLE} GROUP BY _blob"
        ).fetchall():
            self.records_per_blob[index] = count
        problem = self._connection.execute(
            f"""SELECT _blob, _problem,
                       (SELECT count(*) FROM {_TABLE} AS earlier
                        WHERE earlier._blob = bad._blob AND earlier.rowid < bad.rowid)
                FROM {_TABLE} AS bad WHERE _problem IS NOT NULL ORDER BY rowid LIMIT 1"""
        ).fetchone()
        if problem is not None:
            index, what, position = problem
            self.records_per_blob[index] = position
            blob = self._blobs[index]
            raise MalformedBlobError(
                f"Element {position} of blob {blob.content_id} ({self._content_type}) is not an "
                f"audit record ({what}); the blob is malformed and will be retried.",
                blob_index=index,
            )

    def _malformed(self, index: int, why: str) -> MalformedBlobError:
        blob = self._blobs[index]
        return MalformedBlobError(
            f"Blob {blob.content_id} ({self._content_type}) is not a JSON array of records: {why}",
            blob_index=index,
        )


def check_blob_records(path: Path) -> None:
    """Refuse, as it is downloaded, a body whose elements are not all audit records (an object
    with a string `Id`) or that does not parse: it is then fetched again under the transport's
    retry policy, the one retry loop. Used when a re-fetch is asked for (it costs one more
    parse). Bodies large enough to be cut into pieces are checked when they are loaded.

    Raises:
        MalformedBlobError: naming the first element that is not a record, or the parse error.

    """
    if path.stat().st_size > SPLIT_ABOVE_BYTES:
        return
    query = _CHECK_QUERY.replace("{largest}", str(_largest_object([path])))
    try:
        with _loads:
            problem = _connection().execute(query, [str(path)]).fetchone()
    except duckdb.OutOfMemoryException:
        return  # not the body's fault: the load checks it again
    except (duckdb.Error, OSError) as error:
        raise MalformedBlobError(
            f"the body is not a JSON array of records: {str(error).splitlines()[0][:200]}"
        ) from None
    if problem is not None:
        position, what = problem
        raise MalformedBlobError(f"element {position} is not an audit record ({what})")


def _largest_object(files: list[Path]) -> int:
    """The reader's object limit for these files: no record is larger than its file, and the
    reader sizes its buffers by this limit, so a 16 MB limit on a 10 kB blob would hold 16 MB
    per concurrent read for nothing (and exhaust the shared memory limit).
    """
    largest = max((path.stat().st_size for path in files), default=0)
    return max(1024, min(MAX_RECORD_BYTES, largest + 1))


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's connection to the process's one conversion database: connections of one
    database are cheap to open and share its memory limit (a new database per thread cost
    about 20 ms each and a memory budget each). Single-threaded, so a load keeps its order.
    """
    if not hasattr(_local, "connection"):
        _local.connection = _database().cursor()
    return _local.connection


@lru_cache(maxsize=1)
def _database() -> duckdb.DuckDBPyConnection:
    database = duckdb.connect()
    database.execute("SET TimeZone = 'UTC'")
    database.execute("SET threads = 1")
    database.execute("SET preserve_insertion_order = true")
    database.execute("SET enable_progress_bar = false")  # no bar in run logs
    database.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    database.execute(f"SET temp_directory = '{_spill_folder()}'")
    names = ", ".join(f"{code}: '{name}'" for code, name in RECORD_TYPE_NAMES.items())
    database.execute(f"CREATE MACRO record_type_name(code) AS (MAP {{{names}}})[code]")
    return database


def _spill_folder() -> str:
    folder = Path(tempfile.gettempdir()) / "o365-pipeline-spill"
    folder.mkdir(exist_ok=True)
    return folder.as_posix().replace("'", "''")


_PATHS = "[" + ", ".join(f"'$.{name}'" for name in _TYPED_FIELDS) + "]"
_COLUMN = {name: f"v[{index}]" for index, name in enumerate(_TYPED_FIELDS, start=1)}
# Parameters: tenant, content type, ingested_at, {file: blob}, {blob: content_id},
# {blob: content_created}, [files].
_QUERY = f"""
SELECT
    {_COLUMN["Id"]} AS Id,
    TRY_CAST({_COLUMN["CreationTime"]} AS TIMESTAMPTZ) AS CreationTime,
    {_COLUMN["Operation"]} AS Operation,
    TRY_CAST({_COLUMN["RecordType"]} AS INTEGER) AS RecordType,
    record_type_name(TRY_CAST({_COLUMN["RecordType"]} AS INTEGER)) AS RecordTypeName,
    {_COLUMN["Workload"]} AS Workload,
    {_COLUMN["UserId"]} AS UserId,
    {_COLUMN["UserKey"]} AS UserKey,
    TRY_CAST({_COLUMN["UserType"]} AS INTEGER) AS UserType,
    {_COLUMN["ClientIP"]} AS ClientIP,
    {_COLUMN["ObjectId"]} AS ObjectId,
    {_COLUMN["ResultStatus"]} AS ResultStatus,
    {_COLUMN["OrganizationId"]} AS OrganizationId,
    raw_json,
    $1::VARCHAR AS tenant, $2::VARCHAR AS content_type,
    ($5::MAP(INTEGER, VARCHAR))[_blob] AS content_id,
    ($6::MAP(INTEGER, TIMESTAMPTZ))[_blob] AS content_created,
    $3::TIMESTAMPTZ AS ingested_at,
    _blob,
    CASE WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object'
         WHEN coalesce(json_type(j, '$.Id'), 'NULL') <> 'VARCHAR' THEN 'no string Id'
    END AS _problem,
    json_structure(j)::VARCHAR AS _structure
FROM (
    SELECT json AS j, json::VARCHAR AS raw_json, json_extract_string(json, {_PATHS}) AS v,
           ($4::MAP(VARCHAR, INTEGER))[filename] AS _blob
    FROM read_json_objects(
        $7, format = '{{format}}', filename = true, maximum_object_size = {{largest}}
    )
)
"""
_CHECK_QUERY = """
SELECT position - 1, problem FROM (
    SELECT row_number() OVER () AS position,
           CASE WHEN json_type(json) <> 'OBJECT' THEN 'not a JSON object'
                WHEN coalesce(json_type(json, '$.Id'), 'NULL') <> 'VARCHAR' THEN 'no string Id'
           END AS problem
    FROM read_json_objects(?, format = 'array', maximum_object_size = {largest})
) WHERE problem IS NOT NULL ORDER BY position LIMIT 1
"""
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}
_TABLE_COLUMNS = ", ".join(
    [f'"{field.name}" {_DUCKDB_TYPES[field.type]}' for field in AUDIT_SCHEMA]
    + ["_blob INTEGER", "_problem VARCHAR", "_structure VARCHAR"]
)
