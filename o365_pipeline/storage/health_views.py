"""DuckDB views of service health: `service_health_issues` (each landed issue once per tenant,
its latest version), `service_health_services` (which Graph services can explain which content
type: the `health_services` of `CONTENT_TYPES`) and `ledger_with_health`, which puts every
troubled ledger hour beside the issues open for its workload then.

A ledger hour is troubled when it is **incomplete** (its ledger status is not `complete`: a
blob failed, expired or was lost) or **late** (the window's saved listing, re-listed since,
names a blob the window's ingestion did not fetch: the listing check's "blobs not in the
partition"). An issue is open for the hour when it started before the hour ended and had not
ended when the hour began (no `endDateTime` yet = still open). An hour with no such issue is
shown once, with empty issue columns, so "late, and Microsoft said nothing" is visible too.

Created by `views.refresh_views` after the ledger views, whose columns it reads.
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path

import duckdb
import pyarrow as pa

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.storage.damaged_files import DamagedFile, find_damaged
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.storage.service_health_issues import (
    ISSUE_SCHEMA,
    ISSUES_FILE_NAME,
    SERVICE_HEALTH,
    issues_glob,
)

EVERY_SERVICE = "*"
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}
_LOG = logging.getLogger(__name__)

# Listed blobs the window's ingestion did not fetch, per window (the tenant comes from the
# listing's folder, so an empty `listings` view, made before any listing landed, has none).
LATE_BLOBS = """
    SELECT listed.tenant, listed.content_type, listed.date, listed.hour,
           count(*) AS blobs_not_in_partition
    FROM listings AS listed
    WHERE NOT EXISTS (
        SELECT 1 FROM ledger_blobs AS blob
        WHERE blob.tenant = listed.tenant AND blob.content_type = listed.content_type
          AND blob.date = listed.date AND blob.hour = listed.hour
          AND blob.content_id = listed.content_id AND blob.status = 'fetched'
    )
    GROUP BY ALL
"""
NO_LATE_BLOBS = """
    SELECT CAST(NULL AS VARCHAR) AS tenant, CAST(NULL AS VARCHAR) AS content_type,
           CAST(NULL AS DATE) AS date, CAST(NULL AS INTEGER) AS hour,
           CAST(NULL AS BIGINT) AS blobs_not_in_partition
    WHERE false
"""
LEDGER_WITH_HEALTH = f"""
CREATE OR REPLACE VIEW ledger_with_health AS
WITH late AS ({{late}}),
troubled AS (
    SELECT entry.*, coalesce(late.blobs_not_in_partition, 0) AS blobs_not_in_partition
    FROM ledger AS entry
    LEFT JOIN late USING (tenant, content_type, date, hour)
    WHERE entry.status <> 'complete' OR late.blobs_not_in_partition > 0
),
health AS (
    SELECT mapped.content_type, issue.*
    FROM service_health_issues AS issue
    JOIN service_health_services AS mapped
      ON mapped.service = '{EVERY_SERVICE}' OR mapped.service = issue.service
)
SELECT
    troubled.tenant,
    troubled.content_type,
    troubled.window_start,
    troubled.window_end,
    troubled.status AS ledger_status,
    concat_ws(', ',
        CASE WHEN troubled.status <> 'complete' THEN 'incomplete' END,
        CASE WHEN troubled.blobs_not_in_partition > 0 THEN 'late' END) AS trouble,
    troubled.blobs_listed,
    troubled.blobs_fetched,
    troubled.blobs_failed,
    troubled.blobs_expired,
    troubled.blobs_not_in_partition,
    health.id AS issue_id,
    health.service,
    health.title,
    health.classification,
    health.status AS issue_status,
    health.startDateTime AS issue_start,
    health.endDateTime AS issue_end,
    health.isResolved AS issue_resolved,
    health.lastModifiedDateTime AS issue_last_modified
FROM troubled
LEFT JOIN health
  ON health.tenant = troubled.tenant
 AND health.content_type = troubled.content_type
 AND health.startDateTime < troubled.window_end
 AND (health.endDateTime IS NULL OR health.endDateTime > troubled.window_start)
"""


def create_health_views(
    connection: duckdb.DuckDBPyConnection, data_root: Path, store: ObjectStore | None = None
) -> list[DamagedFile]:
    """(Re)create the three views over the issues files under `data_root` (or the object
    store's copy); a file whose footer cannot be read is left out and logged, and returned.
    """
    pattern, readable, damaged = _issue_files(Path(data_root).resolve(), store)
    for file in damaged:
        _LOG.warning(file.sentence())
    if not readable:
        source = _empty_select()
    elif not damaged:  # a glob keeps seeing tenants that land after this
        source = f"SELECT * FROM read_parquet('{_quoted(pattern)}', union_by_name=true)"
    else:
        listed = ", ".join(f"'{_quoted(path)}'" for path in readable)
        source = f"SELECT * FROM read_parquet([{listed}], union_by_name=true)"
    connection.execute(f"CREATE OR REPLACE VIEW service_health_issues AS {source}")
    connection.execute(f"CREATE OR REPLACE VIEW service_health_services AS {_services_select()}")
    listing_columns = {row[0] for row in connection.execute("DESCRIBE listings").fetchall()}
    late = LATE_BLOBS if "tenant" in listing_columns else NO_LATE_BLOBS
    connection.execute(LEDGER_WITH_HEALTH.format(late=late))
    return damaged


def _issue_files(root: Path, store: ObjectStore | None) -> tuple[str, list[str], list[DamagedFile]]:
    if store is None:
        pattern = issues_glob(root)
        found, filesystem = sorted(glob.glob(pattern)), None
    else:
        relative = f"{SERVICE_HEALTH}/tenant=*/{ISSUES_FILE_NAME}"
        pattern = store.key_url(relative)
        keys = store.fs.glob(f"{store.root}/{relative}")
        found = sorted(store.key_url(key[len(store.root) + 1 :]) for key in keys)
        filesystem = store.fs
    damaged = find_damaged(found, filesystem)
    skipped = {file.path for file in damaged}
    return pattern, [path for path in found if path not in skipped], damaged


def _services_select() -> str:
    pairs = [
        (content_type.name, service)
        for content_type in CONTENT_TYPES
        for service in content_type.health_services or (EVERY_SERVICE,)
    ]
    values = ", ".join(f"('{_quoted(name)}', '{_quoted(service)}')" for name, service in pairs)
    return f"SELECT * FROM (VALUES {values}) AS mapping(content_type, service)"


def _empty_select() -> str:
    columns = [
        f'CAST(NULL AS {_DUCKDB_TYPES[field.type]}) AS "{field.name}"' for field in ISSUE_SCHEMA
    ]
    return f"SELECT {', '.join(columns)} WHERE false"


def _quoted(text: str) -> str:
    return text.replace("'", "''")
