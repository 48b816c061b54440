"""Where a tenant's service health issues live, and how the file is read and replaced.

One Parquet file per tenant, `service_health/tenant={name}/issues.parquet`, holding each issue
once (its latest version), with the incremental watermark (the newest `lastModifiedDateTime`
landed) in the file's own metadata: the rows and the watermark are replaced together by one
atomic rename, so a crash can never leave a watermark ahead of the data it stands for. Columns
keep Microsoft Graph's property names; `posts` and `details` are JSON text, and `raw` is the
whole issue as Graph sent it (the data, untouched).
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from o365_pipeline.api.service_communications import parse_graph_time
from o365_pipeline.storage.atomic import publish, temporary_path_for
from o365_pipeline.tenants import validate_customer_name

SERVICE_HEALTH = "service_health"
ISSUES_FILE_NAME = "issues.parquet"
WATERMARK_KEY = b"o365_pipeline.watermark"
_TIMESTAMP = pa.timestamp("us", tz="UTC")
_TEXT_PROPERTIES = (
    "title",
    "service",
    "feature",
    "featureGroup",
    "classification",
    "status",
    "origin",
    "impactDescription",
)
ISSUE_SCHEMA = pa.schema(
    [
        ("tenant", pa.string()),
        ("id", pa.string()),
        *[(name, pa.string()) for name in _TEXT_PROPERTIES],
        ("isResolved", pa.bool_()),
        ("startDateTime", _TIMESTAMP),
        ("endDateTime", _TIMESTAMP),
        ("lastModifiedDateTime", _TIMESTAMP),
        ("posts", pa.string()),
        ("details", pa.string()),
        ("raw", pa.string()),
        ("fetched_at", _TIMESTAMP),
    ]
)


@dataclass(frozen=True)
class StoredIssues:
    """A tenant's landed issues (one row per id) and the watermark they were landed up to."""

    rows: dict[str, dict]
    watermark: datetime | None


def issues_file(data_root: Path, tenant: str) -> Path:
    """The issues file of one tenant (a validated customer name: nothing steers it elsewhere)."""
    validate_customer_name(tenant)
    return Path(data_root) / SERVICE_HEALTH / f"tenant={tenant}" / ISSUES_FILE_NAME


def issues_glob(data_root: Path) -> str:
    """The glob over every tenant's issues file."""
    return str(Path(data_root) / SERVICE_HEALTH / "tenant=*" / ISSUES_FILE_NAME)


def read_issues(path: Path) -> StoredIssues:
    """The issues landed at `path` (none, and no watermark, before the first run).

    Raises:
        pyarrow.ArrowException, OSError: the file is damaged.

    """
    if not path.exists():
        return StoredIssues({}, None)
    table = pq.read_table(path)
    metadata = table.schema.metadata or {}
    mark = metadata.get(WATERMARK_KEY)
    watermark = datetime.fromisoformat(mark.decode()).astimezone(UTC) if mark else None
    rows = {}
    for row in table.to_pylist():
        rows[row["id"]] = {
            key: value.astimezone(UTC) if isinstance(value, datetime) else value
            for key, value in row.items()
        }
    return StoredIssues(rows, watermark)


def write_issues(path: Path, rows: Sequence[dict], watermark: datetime | None) -> None:
    """Replace the file at `path` with `rows` and `watermark`, atomically."""
    metadata = {WATERMARK_KEY: watermark.isoformat().encode()} if watermark else {}
    earliest = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(rows, key=lambda row: (row["startDateTime"] or earliest, row["id"]))
    table = pa.Table.from_pylist(list(ordered), schema=ISSUE_SCHEMA.with_metadata(metadata))
    temporary = temporary_path_for(path)
    pq.write_table(table, temporary)
    publish(temporary, path)


def issue_row(tenant: str, issue: dict, fetched_at: datetime) -> dict:
    """The stored row of one Graph `serviceHealthIssue`."""

    def time_of(name: str) -> datetime | None:
        value = issue.get(name)
        return parse_graph_time(value) if value else None

    def text_of(name: str) -> str | None:
        value = issue.get(name)
        return None if value is None else str(value)

    return {
        "tenant": tenant,
        "id": issue["id"],
        **{name: text_of(name) for name in _TEXT_PROPERTIES},
        "isResolved": bool(issue["isResolved"]) if "isResolved" in issue else None,
        "startDateTime": time_of("startDateTime"),
        "endDateTime": time_of("endDateTime"),
        "lastModifiedDateTime": time_of("lastModifiedDateTime"),
        "posts": json.dumps(issue.get("posts") or [], ensure_ascii=False),
        "details": json.dumps(issue.get("details") or [], ensure_ascii=False),
        "raw": json.dumps(issue, ensure_ascii=False, sort_keys=True),
        "fetched_at": fetched_at,
    }


@contextmanager
def tenant_lock(path: Path) -> Iterator[None]:
    """Hold the tenant's lock while its file is read, merged and replaced: two runs of one
    tenant (the schedule and a manual one) would otherwise each write what they read, and the
    later writer could put back an older version.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
