"""`o365-pipeline demo`: emulator → Dagster assets → Parquet → DuckDB, in one command.

It materializes the demo tenants (whatever else the registry holds) through a persistent
Dagster instance under the data folder and records it and the data folder in `.env` (which
`dagster dev` and the CLI read), so the demo's runs show up in the UI afterwards. It compares
sets of (tenant, Id), not counts, and exits non-zero only on a real difference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from o365_pipeline.cli.backfill import QUIET_RUN_CONFIG
from o365_pipeline.cli.dagster_instance import open_instance
from o365_pipeline.cli.demo_detections import (
    DetectionsCheck,
    compare_with_planted,
    detection_days,
    findings_of,
    run_detections,
    say_comparison,
    say_findings,
)
from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.config import Settings
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.partitions import partition_range_tags, sync_tenant_partitions
from o365_pipeline.detections import load_rules
from o365_pipeline.pipeline.daily_report import write_daily_report
from o365_pipeline.pipeline.subscriptions import ensure_subscriptions
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline.tenants.directory import directory_for


@dataclass(frozen=True)
class DemoResult:
    """What the demo landed, next to what the emulator says exists, as sets of (tenant, Id)."""

    tenants: tuple[str, ...]
    windows: tuple[datetime, ...]
    missing: frozenset[tuple[str, str]]
    extra: frozenset[tuple[str, str]]
    shown_twice_in_audit: int
    redelivered_across_partitions: int
    seconds: float
    detections: DetectionsCheck | None = None

    @property
    def matches(self) -> bool:
        """Nothing lost, nothing extra, and the `audit` view shows each (tenant, Id) once.
        Re-deliveries stored in two partitions are Microsoft's behaviour, not a difference.
        """
        landed = not self.missing and not self.extra and not self.shown_twice_in_audit
        return landed and (self.detections is None or self.detections.matches)


def run_demo(
    settings: Settings,
    *,
    hours: int = 6,
    records_per_hour: int = 40,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Materialize the last `hours` complete windows of the demo tenants (whatever else the
    registry holds) through Dagster against the local emulator, and compare sets.
    """
    started = time.monotonic()
    settings = settings.model_copy(
        update={"client_id": None, "tenant_id": None, "emulator_records_per_hour": records_per_hour}
    )
    from o365_pipeline.definitions import INGEST_JOB_NAME, build_definitions, local_emulator

    defs = build_definitions(settings)
    served = directory_for(settings).all()
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    windows = tuple(newest - timedelta(hours=offset) for offset in range(hours, 0, -1))
    say(f"Demo tenants: {', '.join(tenant.name for tenant in DEMO_TENANTS)} (local emulator).")
    with open_instance(settings) as instance:
        _remember_dagster_home(settings, say)
        sync_tenant_partitions(instance, served)
        say(f"Starting the local emulator and subscribing {len(DEMO_TENANTS)} tenants …")
        deployment = Deployment(settings)
        for tenant in DEMO_TENANTS:
            ensure_subscriptions(deployment.client_for(tenant), tenant.name, CONTENT_TYPES)
        job = defs.resolve_job_def(INGEST_JOB_NAME)
        for tenant in DEMO_TENANTS:
            say(
                f"Materializing {tenant.name}: {len(windows)} hours × {len(CONTENT_TYPES)} "
                f"content types, {windows[0]:%Y-%m-%d %H:00}…{windows[-1]:%H:00} UTC, in one "
                "run …"
            )
            job.execute_in_process(
                instance=instance,
                run_config=QUIET_RUN_CONFIG,
                tags=partition_range_tags(tenant.name, windows[0], windows[-1]),
            )
        days = detection_days(windows)
        run_detections(defs, instance, [tenant.name for tenant in DEMO_TENANTS], days, say)
    emulator = local_emulator(settings, served)
    truth = {
        (tenant.name, record_id)
        for tenant in DEMO_TENANTS
        for record_id in _ground_truth(emulator, tenant.tenant_id, windows)
    }
    data_dir = settings.resolved_data_dir
    _print_summary(data_dir, say, days)
    _write_reports(data_dir, days, say)
    shown, twice, redelivered = _landed(data_dir, windows)
    planted = [
        {**pattern, "tenant": tenant.name}
        for tenant in DEMO_TENANTS
        for pattern in emulator.planted_patterns(
            tenant.tenant_id, windows[0] - timedelta(hours=1), windows[-1] + timedelta(hours=1)
        )
    ]
    names = [tenant.name for tenant in DEMO_TENANTS]
    detections = compare_with_planted(findings_of(data_dir, names, days), planted, truth)
    result = DemoResult(
        tenants=tuple(tenant.name for tenant in DEMO_TENANTS),
        windows=windows,
        missing=frozenset(truth - shown),
        extra=frozenset(shown - truth),
        shown_twice_in_audit=twice,
        redelivered_across_partitions=redelivered,
        seconds=time.monotonic() - started,
        detections=detections,
    )
    _say_verdict(result, len(truth), say)
    say(
        f"The local emulator keeps serving at {emulator.base_url} until idle for 30 minutes "
        "(it is restarted on demand)."
    )
    say(
        "Next: `dagster dev` in this folder shows these runs; "
        '`o365-pipeline sql "SELECT …"` queries the data.'
    )
    return result


def _say_verdict(result: DemoResult, expected: int, say: Callable[[str], None]) -> None:
    say(
        f"\nEmulator ground truth: {expected} (tenant, Id); missing from `audit`: "
        f"{len(result.missing)}; extra in `audit`: {len(result.extra)}; shown twice in "
        f"`audit`: {result.shown_twice_in_audit}; re-deliveries stored in two partitions "
        f"(kept once by `audit`): {result.redelivered_across_partitions}."
    )
    for label, ids in (("missing", result.missing), ("extra", result.extra)):
        for tenant, record_id in sorted(ids)[:5]:
            say(f"  {label}: {tenant} {record_id}")
    if result.detections is not None:
        say_comparison(result.detections, say)
    verdict = "nothing lost, nothing duplicated" if result.matches else "MISMATCH"
    if result.matches and result.detections is not None:
        verdict += "; every planted pattern found, nothing else flagged"
    say(f"→ {verdict}.  ({result.seconds:.0f} s)")


def _remember_dagster_home(settings: Settings, say: Callable[[str], None]) -> None:
    """Point `dagster dev` (which reads `.env` in its folder) at the demo's instance."""
    if not Path("workspace.yaml").exists():
        return
    env_file = Path(".env")
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    kept = [line for line in lines if not line.startswith(("DAGSTER_HOME=", "O365_DATA_DIR="))]
    env_file.write_text(
        "\n".join(
            [
                *kept,
                f"DAGSTER_HOME={settings.instance_home}",
                f"O365_DATA_DIR={settings.resolved_data_dir}",
            ]
        )
        + "\n"
    )
    say(f"Dagster instance: {settings.instance_home} (recorded in {env_file} for `dagster dev`).")


def _ground_truth(emulator, tenant_id: str, windows: tuple[datetime, ...]) -> set[str]:
    ids: set[str] = set()
    for content_type in CONTENT_TYPES:
        for window_start in windows:
            ids |= emulator.ground_truth(
                tenant_id, content_type.name, window_start, window_start + timedelta(hours=1)
            )
    return ids


def _landed(data_dir: Path, windows: tuple[datetime, ...]) -> tuple[set[tuple[str, str]], int, int]:
    """(tenant, Id) the `audit` view shows for records delivered in the windows; how many of
    them it shows more than once; how many were stored in more than one partition.
    """
    start, end = windows[0], windows[-1] + timedelta(hours=1)
    names = [tenant.name for tenant in DEMO_TENANTS]
    delivered = (
        "SELECT DISTINCT tenant, Id FROM audit_all WHERE tenant IN ? "
        "AND content_created >= ? AND content_created < ?"
    )
    with connect(data_dir) as connection:
        rows = connection.execute(
            f"SELECT a.tenant, a.Id, count(*) FROM audit a JOIN ({delivered}) d "
            "USING (tenant, Id) GROUP BY ALL",
            [names, start, end],
        ).fetchall()
        (redelivered,) = connection.execute(
            "SELECT count(*) FROM (SELECT tenant, Id FROM audit_all WHERE tenant IN ? "
            "AND content_created >= ? AND content_created < ? GROUP BY ALL HAVING count(*) > 1)",
            [names, start, end],
        ).fetchone()
    shown = {(tenant, record_id) for tenant, record_id, _ in rows}
    twice = sum(1 for *_, count in rows if count > 1)
    return shown, twice, redelivered


def _print_summary(data_dir: Path, say: Callable[[str], None], days: Sequence[date] = ()) -> None:
    with connect(data_dir) as connection:
        say("\nRecords per content type and tenant (DuckDB, `audit` view):")
        say(
            str(
                connection.sql(
                    "SELECT content_type, tenant, count(*) AS records, "
                    "count(DISTINCT UserId) AS users "
                    "FROM audit GROUP BY ALL ORDER BY ALL"
                )
            )
        )
        say("Top operations:")
        say(
            str(
                connection.sql(
                    "SELECT Operation, count(*) AS records FROM audit GROUP BY ALL "
                    "ORDER BY records DESC, Operation LIMIT 8"
                )
            )
        )
        say("Completeness ledger:")
        say(
            str(
                connection.sql(
                    "SELECT status, count(*) AS windows, sum(blobs_listed) AS blobs_listed, "
                    "sum(blobs_fetched) AS blobs_fetched, sum(records_read) AS records_read, "
                    "sum(duplicates_dropped) AS duplicates_dropped, "
                    "sum(records_written) AS written "
                    "FROM ledger GROUP BY ALL"
                )
            )
        )
    names = [tenant.name for tenant in DEMO_TENANTS]
    say_findings(findings_of(data_dir, names, days), [rule.name for rule in load_rules()], say)


def _write_reports(data_dir: Path, days: Sequence[date], say: Callable[[str], None]) -> None:
    """Each demo tenant's daily report for the days the windows touched, and its path."""
    say("Daily reports (HTML with charts; the `daily_report` asset makes the same):")
    for tenant in DEMO_TENANTS:
        for day in days:
            report = write_daily_report(data_dir, tenant.name, day, now=datetime.now(UTC))
            say(f"  {tenant.name} {day}: {report.html_path}")
