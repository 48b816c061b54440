"""`o365-pipeline backfill <customer> --hours N`: materialize a tenant's last N complete hours
(every content type) through Dagster, from the command line, into the same Dagster instance
the UI shows (`<data>/dagster_home` unless DAGSTER_HOME says otherwise), as one run over the
range of partitions (the assets' single-run backfill policy): the windows overlap their network
waits, and each is still materialized, checked and failed on its own. The windows are the N
newest the API can still list; asking for more is refused before any run is launched.

The UI does the same with a backfill over the tenant's partitions; this is for scripts and for
machines without the UI running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from o365_pipeline.api.windows import Window
from o365_pipeline.cli.dagster_instance import open_instance
from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.cli.progress import LedgerProgress
from o365_pipeline.config import Settings
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.partitions import (
    partition_key_for,
    partition_range_tags,
    sync_tenant_partitions,
)
from o365_pipeline.pipeline.settled_windows import fetchable_window_starts
from o365_pipeline.pipeline.subscriptions import ensure_subscriptions
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.tenants.directory import directory_for

if TYPE_CHECKING:
    import dagster as dg

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Many customers at once: one line per customer; warnings (schema drift) stay in the event log.
QUIETER_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass(frozen=True)
class BackfillResult:
    """Windows that succeeded and failed (each failure with Dagster's reason)."""

    succeeded: tuple[datetime, ...]
    failed: tuple[tuple[datetime, str], ...]


def backfill_tenant(
    settings: Settings,
    name: str,
    *,
    hours: int,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> BackfillResult:
    """Materialize the tenant's `hours` newest fetchable windows, oldest first.

    Raises:
        ValueError: `hours` asks for windows the API no longer lists (before any run starts).
        ManagementApiError: the tenant's subscriptions cannot be started (e.g. auditing off).
        RegistryError: no such tenant.

    """
    windows = fetchable_window_starts(now or datetime.now(UTC), hours)
    directory_for(settings).get(name)  # an unknown tenant is refused before Dagster loads
    with BackfillSession(settings, say=say) as session:
        return session.backfill(name, windows)


class BackfillSession:
    """The definitions, the Dagster instance and the ingest job, loaded once and reused for
    every tenant this process backfills: loading them costs seconds of CPU (imports, the
    instance's SQLite schema check, the asset graph), which a service provider backfilling a
    hundred customers should pay once per process, not once per customer.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        say: Callable[[str], None] = print,
        show_progress: bool = True,
    ) -> None:
        self._settings = settings
        self._say = say
        self._show_progress = show_progress

    def __enter__(self) -> BackfillSession:
        from o365_pipeline.definitions import INGEST_JOB_NAME, build_definitions

        self._directory = directory_for(self._settings)
        self._job = build_definitions(self._settings).resolve_job_def(INGEST_JOB_NAME)
        self._instance = open_instance(self._settings)
        sync_tenant_partitions(self._instance, self._directory.all())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._instance.dispose()

    def backfill(self, name: str, windows: Sequence[datetime]) -> BackfillResult:
        """One ranged run over the tenant's `windows` (every content type), then which
        windows landed and, for the others, Dagster's reason.
        """
        tenant = self._directory.get(name)
        # A plain client, as the runs build theirs: the Dagster resource resolves its
        # `EnvVar`s only inside a run.
        client = Deployment(self._settings).client_named(name)
        ensure_subscriptions(client, tenant.name, CONTENT_TYPES)  # this tenant's only
        self._say(
            f"  one run for {len(windows)} window(s) × {len(CONTENT_TYPES)} content types ..."
        )
        with self._progress(tenant.name, windows):
            result = self._job.execute_in_process(
                instance=self._instance,
                run_config=QUIET_RUN_CONFIG if self._show_progress else QUIETER_RUN_CONFIG,
                raise_on_error=False,
                tags=partition_range_tags(tenant.name, windows[0], windows[-1]),
            )
        return self._outcome(tenant.name, windows, result)

    def _progress(self, tenant: str, windows: Sequence[datetime]):
        if not self._show_progress:
            return contextlib.nullcontext()
        layout = DataLayout(self._settings.resolved_data_dir)
        return LedgerProgress(layout, tenant, [kind.name for kind in CONTENT_TYPES], windows)

    def _outcome(
        self, tenant: str, windows: Sequence[datetime], result: dg.ExecuteInProcessResult
    ) -> BackfillResult:
        landed: dict[str, int] = {}
        for event in result.get_asset_materialization_events():
            if event.asset_key.path[0] == "audit" and event.partition:
                landed[event.partition] = landed.get(event.partition, 0) + 1
        reasons = [
            event.step_failure_data.error.message.strip()
            for event in result.all_events
            if event.is_step_failure
        ]
        succeeded, failed = [], []
        for window in windows:
            key = str(partition_key_for(tenant, window))
            if landed.get(key, 0) == len(CONTENT_TYPES):
                succeeded.append(window)
                self._say(f"  {window:%Y-%m-%d %H:00} UTC  ok")
                continue
            label = Window(window, window + timedelta(hours=1)).label
            reason = next((text for text in reasons if label in text), None)
            reason = reason or (reasons[0] if reasons else "not landed")
            failed.append((window, reason))
            self._say(f"  {window:%Y-%m-%d %H:00} UTC  FAILED: {reason[:300]}")
        return BackfillResult(tuple(succeeded), tuple(failed))
