"""The findings table: the schema of a tenant-day's findings file (written by
`pipeline.detections`, `detections/tenant=T/date=D/findings.parquet`) and the `findings`
DuckDB view over every tenant's every day, with its columns described in DuckDB itself.

The view reads the files, not a copy: running a day's detections again replaces its file and
the next query shows the new findings. Its columns are cast to fixed types, so the view has the
same shape whether it reads a hundred files or none (then it is empty, not missing: a query
written before the first detection run still answers). The path's `tenant=`/`date=` folders
are not read as columns (the file holds `tenant` and `day` itself). A file whose footer cannot
be read is left out and reported, as for the other views.
"""

from __future__ import annotations

import glob
from pathlib import Path

import duckdb
import pyarrow as pa

from o365_pipeline.records.schema import TIMESTAMP
from o365_pipeline.storage.damaged_files import DamagedFile, find_damaged
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.object_store import ObjectStore

FINDINGS_VIEW = "findings"
FINDINGS_SCHEMA = pa.schema(
    [
        pa.field("rule", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("first_seen", TIMESTAMP),
        pa.field("last_seen", TIMESTAMP),
        pa.field("user", pa.string()),
        pa.field("ip", pa.string()),
        pa.field("evidence_ids", pa.list_(pa.string()), nullable=False),
        pa.field("summary", pa.string()),
    ]
)
FINDINGS_DESCRIPTION = (
    "Every finding of the detection rules (o365_pipeline/detections/rules/*.sql), all tenants "
    "and days: one row per finding, from the findings file each run of a tenant-day's "
    "`detections` writes (a day run again shows its latest run). Empty until detections run."
)
# (column, DuckDB type, description), in the files' column order.
FINDINGS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rule", "VARCHAR", "The rule that found it: its file name under detections/rules/."),
    ("severity", "VARCHAR", "The rule's severity: high, medium or low."),
    ("tenant", "VARCHAR", "The tenant (customer name) whose audit records show it."),
    ("day", "DATE", "The UTC day of events the rules ran over (a finding spanning midnight "
     "belongs to the day its rule names, e.g. the day of the first success)."),
    ("first_seen", "TIMESTAMPTZ", "The finding's first event (CreationTime, UTC)."),
    ("last_seen", "TIMESTAMPTZ", "The finding's last event (CreationTime, UTC)."),
    ("user", "VARCHAR", "The account it is about: UserId, the new member of a role, or the "
     "sender or author of a DLP match."),
    ("ip", "VARCHAR", "The client address involved, without port or brackets (as "
     "`client_address`); NULL when the records carry none."),
    ("evidence_ids", "VARCHAR[]", "Ids of the audit records that show it: "
     "`SELECT a.* FROM findings f JOIN audit a ON a.tenant = f.tenant AND "
     "list_contains(f.evidence_ids, a.Id)`."),
    ("summary", "VARCHAR", "What was seen, in one sentence."),
)  # fmt: skip


def create_findings_view(
    connection: duckdb.DuckDBPyConnection, data_root: Path, store: ObjectStore | None = None
) -> list[DamagedFile]:
    """(Re)create `findings` over the findings files under `data_root` (or the object store's
    copy), with its comments; returns the files left out because their footer is damaged.
    """
    pattern, readable, damaged = _findings_files(DataLayout(Path(data_root).resolve()), store)
    typed = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind, _ in FINDINGS_COLUMNS)
    options = "union_by_name=true, hive_partitioning=false"
    if not readable:
        source = _empty_select()
    elif not damaged:  # a glob keeps seeing tenant-days whose detections run after this
        source = f"SELECT {typed} FROM read_parquet('{_quoted(pattern)}', {options})"
    else:
        listed = ", ".join(f"'{_quoted(path)}'" for path in readable)
        source = f"SELECT {typed} FROM read_parquet([{listed}], {options})"
    connection.execute(f'CREATE OR REPLACE VIEW "{FINDINGS_VIEW}" AS {source}')
    connection.execute(f'COMMENT ON VIEW "{FINDINGS_VIEW}" IS {_literal(FINDINGS_DESCRIPTION)}')
    for name, _, description in FINDINGS_COLUMNS:
        connection.execute(
            f'COMMENT ON COLUMN "{FINDINGS_VIEW}"."{name}" IS {_literal(description)}'
        )
    return damaged


def _findings_files(
    layout: DataLayout, store: ObjectStore | None
) -> tuple[str, list[str], list[DamagedFile]]:
    """The glob DuckDB reads, the files it matches now, and the damaged ones among them."""
    local = layout.findings_glob()
    if store is None:
        pattern, found, filesystem = local, sorted(glob.glob(local)), None
    else:
        relative = Path(local).relative_to(layout.root).as_posix()
        pattern = store.key_url(relative)
        keys = store.fs.glob(f"{store.root}/{relative}")
        found = sorted(store.key_url(key[len(store.root) + 1 :]) for key in keys)
        filesystem = store.fs
    damaged = find_damaged(found, filesystem)
    skipped = {file.path for file in damaged}
    return pattern, [path for path in found if path not in skipped], damaged


def _empty_select() -> str:
    columns = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind, _ in FINDINGS_COLUMNS)
    return f"SELECT {columns} WHERE false"


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
