"""`o365-pipeline demo`: emulator → Dagster assets → Parquet → DuckDB, in one command.

It materializes through a persistent Dagster instance under the data folder and records it in
`.env` (which `dagster dev` reads), so the demo's runs show up in the UI afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import SUBSCRIPTIONS_KEY
from o365_pipeline.defs.partitions import partition_key_for, sync_tenant_partitions
from o365_pipeline.storage.views import connect

DAGSTER_YAML = "telemetry:\n  enabled: false\n"
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class DemoResult:
    """What the demo landed, next to what the emulator says exists."""

    windows: tuple[datetime, ...]
    ids_in_audit_view: int
    ids_in_ground_truth: int
    seconds: float

    @property
    def matches(self) -> bool:
        """Nothing lost, nothing duplicated."""
        return self.ids_in_audit_view == self.ids_in_ground_truth


def run_demo(
    data_dir: Path,
    *,
    hours: int = 6,
    records_per_hour: int = 40,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Materialize the last `hours` complete windows for the demo tenants and compare."""
    started = time.monotonic()
    data_dir = data_dir.resolve()
    _prepare_environment(data_dir, records_per_hour, say)
    from o365_pipeline.definitions import INGEST_JOB_NAME, build_definitions, tenant_directory

    defs = build_definitions()
    tenants = tenant_directory(str(data_dir)).all()
    now = datetime.now(UTC)
    newest = now.replace(minute=0, second=0, microsecond=0)
    windows = tuple(newest - timedelta(hours=offset) for offset in range(hours, 0, -1))
    with dg.DagsterInstance.get() as instance:
        sync_tenant_partitions(instance, tenants)
        say(f"Starting the local emulator and subscribing {len(tenants)} tenants …")
        defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=[SUBSCRIPTIONS_KEY], instance=instance, run_config=QUIET_RUN_CONFIG
        )
        job = defs.resolve_job_def(INGEST_JOB_NAME)
        for tenant in tenants:
            for window_start in windows:
                say(
                    f"Materializing {tenant.name} {window_start:%Y-%m-%d %H:00} UTC "
                    f"({len(CONTENT_TYPES)} content types) …"
                )
                job.execute_in_process(
                    partition_key=partition_key_for(tenant.name, window_start),
                    instance=instance,
                    run_config=QUIET_RUN_CONFIG,
                )
    emulator = defs.resources["management_api"].emulator(tenants)
    truth = sum(len(_ground_truth(emulator, tenant.tenant_id, windows)) for tenant in tenants)
    landed = _print_summary(data_dir, windows, say)
    result = DemoResult(
        windows=windows,
        ids_in_audit_view=landed,
        ids_in_ground_truth=truth,
        seconds=time.monotonic() - started,
    )
    verdict = "nothing lost, nothing duplicated" if result.matches else "MISMATCH"
    say(
        f"\nDistinct (tenant, Id) in the audit view: {landed}; emulator ground truth: {truth} "
        f"→ {verdict}.  ({result.seconds:.0f} s)"
    )
    say(
        f"The local emulator keeps serving at {emulator.base_url} until idle for 30 minutes "
        "(it is restarted on demand)."
    )
    say(
        "Next: `dagster dev` in this folder shows these runs; "
        '`o365-pipeline sql "SELECT …"` queries the data.'
    )
    return result


def _prepare_environment(data_dir: Path, records_per_hour: int, say: Callable[[str], None]) -> None:
    dagster_home = data_dir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    dagster_yaml = dagster_home / "dagster.yaml"
    if not dagster_yaml.exists():
        dagster_yaml.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    os.environ["O365_DATA_DIR"] = str(data_dir)
    os.environ["O365_EMULATOR_RECORDS_PER_HOUR"] = str(records_per_hour)
    for name in ("O365_CLIENT_ID", "O365_TENANT_ID"):
        os.environ.pop(name, None)
    if Path("workspace.yaml").exists():
        _remember_dagster_home(Path(".env"), dagster_home, say)


def _remember_dagster_home(env_file: Path, dagster_home: Path, say: Callable[[str], None]) -> None:
    """Point `dagster dev` (which reads `.env` in its folder) at the demo's instance."""
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    kept = [line for line in lines if not line.startswith("DAGSTER_HOME=")]
    env_file.write_text("\n".join([*kept, f"DAGSTER_HOME={dagster_home}"]) + "\n")
    say(f"Dagster instance: {dagster_home} (recorded in {env_file} for `dagster dev`).")


def _ground_truth(emulator, tenant_id: str, windows: tuple[datetime, ...]) -> set[str]:
    ids: set[str] = set()
    for content_type in CONTENT_TYPES:
        for window_start in windows:
            ids |= emulator.ground_truth(
                tenant_id, content_type.name, window_start, window_start + timedelta(hours=1)
            )
    return ids


def _print_summary(
    data_dir: Path, windows: tuple[datetime, ...], say: Callable[[str], None]
) -> int:
    start, end = windows[0], windows[-1] + timedelta(hours=1)
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
        (landed,) = connection.execute(
            "SELECT count(*) FROM audit a WHERE EXISTS (SELECT 1 FROM audit_all r "
            "WHERE r.tenant = a.tenant AND r.Id = a.Id "
            "AND r.content_created >= ? AND r.content_created < ?)",
            [start, end],
        ).fetchone()
    return landed
