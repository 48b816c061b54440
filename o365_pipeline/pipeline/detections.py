"""Run every detection rule for one tenant and one UTC day over the DuckDB views, and keep the
findings as one Parquet file per tenant-day (`detections/tenant=…/date=…/findings.parquet`).

With an object store, the file is published after it is written (and the day's previous file
fetched from it first, when this machine has none, so that "new" means new to every machine).

The day is the events' day (CreationTime), not the availability windows': a record created at
23:50 and delivered after midnight belongs to the day it happened, so running a day again after
its late records landed finds what they complete. The file is replaced atomically; a finding
is *new* when the previous file of the day did not hold it (same rule, user, address and first
event), which is what the asset check warns about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from o365_pipeline.detections import (
    FINDING_COLUMNS,
    SEVERITIES,
    DetectionRule,
    DetectionRuleError,
    load_rules,
)
from o365_pipeline.pipeline.publishing import fetch_files, publish_files
from o365_pipeline.storage.atomic import discard, publish, temporary_path_for
from o365_pipeline.storage.findings import FINDINGS_SCHEMA
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import validate_customer_name


@dataclass(frozen=True)
class Finding:
    """One row of the findings table: what a rule saw, about whom, and the records that show it."""

    rule: str
    severity: str
    tenant: str
    day: date
    first_seen: datetime | None
    last_seen: datetime | None
    user: str | None
    ip: str | None
    evidence_ids: tuple[str, ...]
    summary: str | None

    @property
    def identity(self) -> tuple:
        """What makes it the same finding when a day is run again (its evidence may grow as
        late records land, its first event does not move).
        """
        return (self.rule, self.user, self.ip, self.first_seen)

    def as_row(self) -> dict:
        """The Parquet row."""
        return {**self.__dict__, "evidence_ids": list(self.evidence_ids)}


@dataclass(frozen=True)
class DetectionReport:
    """What one tenant-day's run found, and where it was written."""

    tenant: str
    day: date
    path: Path
    rules: tuple[DetectionRule, ...]
    findings: tuple[Finding, ...]
    new: tuple[Finding, ...]
    published: tuple[str, ...] | None = None

    @property
    def counts_by_rule(self) -> dict[str, int]:
        """Findings per rule, every rule named (0 when it found nothing)."""
        counts = {rule.name: 0 for rule in self.rules}
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return counts

    @property
    def new_high_severity(self) -> tuple[Finding, ...]:
        """The high-severity findings this run surfaced for the first time."""
        return tuple(finding for finding in self.new if finding.severity == "high")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day as `[start, end)`."""
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


def detect_day(
    data_root: Path,
    tenant: str,
    day: date,
    rules: Sequence[DetectionRule] | None = None,
    store: ObjectStore | None = None,
) -> DetectionReport:
    """Run the rules (default: every shipped rule) for the tenant's UTC `day`, replace its
    findings file (and publish it to `store`), and report what was found and what is new
    since the previous run.

    Raises:
        DetectionRuleError: a rule failed or returned other columns.
        ObjectStoreError: fetching the previous findings or publishing the new ones failed.

    """
    validate_customer_name(tenant)
    rules = tuple(rules if rules is not None else load_rules())
    path = DataLayout(Path(data_root)).findings_file(tenant, day)
    what = f"the findings of {tenant} {day.isoformat()}"
    fetch_files(store, Path(data_root), [path], what)
    before = {finding.identity for finding in read_findings(path)}
    with connect(Path(data_root)) as connection:
        findings = [finding for rule in rules for finding in _run(connection, rule, tenant, day)]
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.rule, str(f.first_seen)))
    write_findings(path, findings)
    published = publish_files(store, Path(data_root), [path], what)
    new = tuple(finding for finding in findings if finding.identity not in before)
    urls = None if published is None else tuple(published)
    return DetectionReport(tenant, day, path, rules, tuple(findings), new, urls)


def read_findings(path: Path) -> list[Finding]:
    """The findings kept in a file ([] when the day was never run)."""
    if not Path(path).exists():
        return []
    rows = pq.read_table(path, schema=FINDINGS_SCHEMA).to_pylist()
    return [Finding(**{**row, "evidence_ids": tuple(row["evidence_ids"])}) for row in rows]


def write_findings(path: Path, findings: Sequence[Finding]) -> None:
    """Replace the file atomically (an empty table when nothing was found: the day was run)."""
    table = pa.Table.from_pylist([finding.as_row() for finding in findings], FINDINGS_SCHEMA)
    temporary = temporary_path_for(Path(path))
    try:
        pq.write_table(table, temporary, compression="zstd")
        publish(temporary, Path(path))
    finally:
        discard(temporary)


def _run(
    connection: duckdb.DuckDBPyConnection, rule: DetectionRule, tenant: str, day: date
) -> list[Finding]:
    start, end = day_bounds(day)
    values = {"tenant": tenant, "day_start": start, "day_end": end}
    try:
        cursor = connection.execute(rule.sql, {name: values[name] for name in rule.parameters})
        columns = tuple(column[0] for column in cursor.description)
        rows = cursor.fetchall()
    except duckdb.Error as error:
        raise DetectionRuleError(
            f"Detection rule {rule.name} failed in DuckDB: {str(error).splitlines()[0]} "
            f"(fix o365_pipeline/detections/rules/{rule.name}.sql)."
        ) from None
    if columns != FINDING_COLUMNS:
        raise DetectionRuleError(
            f"Detection rule {rule.name} returns columns {', '.join(columns)}: a rule must "
            f"return exactly {', '.join(FINDING_COLUMNS)}."
        )
    return [
        Finding(
            rule=rule.name,
            severity=rule.severity,
            tenant=tenant,
            day=day,
            first_seen=first_seen,
            last_seen=last_seen,
            user=user,
            ip=ip,
            evidence_ids=tuple(evidence_ids or ()),
            summary=summary,
        )
        for first_seen, last_seen, user, ip, evidence_ids, summary in rows
    ]
