"""`o365-pipeline backfill <customer> --hours N`: materialize a tenant's last N complete hours
(every content type) through Dagster, from the command line, into the same Dagster instance
the UI shows (`<data>/dagster_home` unless DAGSTER_HOME says otherwise).

The UI does the same with a backfill over the tenant's partitions; this is for scripts and for
machines without the UI running.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.partitions import partition_key_for, sync_tenant_partitions
from o365_pipeline.pipeline.subscriptions import ensure_subscriptions

DAGSTER_YAML = "telemetry:\n  enabled: false\n"
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class BackfillResult:
    """Windows that succeeded and failed (each failure with Dagster's reason)."""

    succeeded: tuple[datetime, ...]
    failed: tuple[tuple[datetime, str], ...]


def use_local_instance(data_dir: Path) -> Path:
    """Point DAGSTER_HOME at `<data_dir>/dagster_home` (created, telemetry off) unless set."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    home = Path(data_dir).resolve() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def backfill_tenant(
    data_dir: Path,
    name: str,
    *,
    hours: int,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> BackfillResult:
    """Materialize the tenant's last `hours` complete windows, oldest first.

    Raises:
        ManagementApiError: the tenant's subscriptions cannot be started (e.g. auditing off).
        RegistryError: no such tenant.

    """
    use_local_instance(data_dir)
    os.environ["O365_DATA_DIR"] = str(Path(data_dir).resolve())
    from o365_pipeline.definitions import INGEST_JOB_NAME, build_definitions, tenant_directory

    directory = tenant_directory(str(Path(data_dir).resolve()))
    tenant = directory.get(name)
    defs = build_definitions()
    newest = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    windows = [newest - timedelta(hours=offset) for offset in range(hours, 0, -1)]
    succeeded, failed = [], []
    with dg.DagsterInstance.get() as instance:
        sync_tenant_partitions(instance, directory.all())
        api = defs.resources["management_api"]
        client = api.client_for(tenant, directory.all(), directory.entry(name))
        ensure_subscriptions(client, tenant.name, CONTENT_TYPES)  # this tenant's only
        job = defs.resolve_job_def(INGEST_JOB_NAME)
        for window in windows:
            result = job.execute_in_process(
                partition_key=partition_key_for(tenant.name, window),
                instance=instance,
                run_config=QUIET_RUN_CONFIG,
                raise_on_error=False,
            )
            if result.success:
                succeeded.append(window)
                say(f"  {window:%Y-%m-%d %H:00} UTC  ok")
            else:
                reason = next(
                    (
                        event.step_failure_data.error.message.strip()
                        for event in result.all_events
                        if event.is_step_failure
                    ),
                    "failed",
                )
                failed.append((window, reason))
                say(f"  {window:%Y-%m-%d %H:00} UTC  FAILED: {reason[:300]}")
    return BackfillResult(tuple(succeeded), tuple(failed))
