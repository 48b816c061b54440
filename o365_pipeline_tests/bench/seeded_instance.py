"""A deployment at partition scale for `partition_scale`: a data folder whose hourly partitions
start a year back, a registry of 100 customers, its Dagster instance (SQLite files under
DAGSTER_HOME, what a default deployment writes) with the tenants added as dynamic partitions,
and a history of landed windows recorded as materializations.

Why a bulk path for the history: `DagsterInstance.report_runless_asset_event` stores one event
in about 14 ms here (two SQLite files opened, the insert statement compiled, each time), so a
week × 100 tenants × 10 assets (168,000 events) would take 40 minutes. `seed_history` writes
the very same rows (the serialized event, the multi-partition dimension tags, the asset's
latest materialization) through the event log storage's own row builders, in one transaction
per asset, and stores the newest event of each asset through the storage's `store_event`, so the
asset table (its latest materialization) is filled in the same way as by a run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as db
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite import SqliteEventLogStorage

from o365_emulator.samples import numbered_tenant_id
from o365_pipeline.cli.dagster_instance import open_instance
from o365_pipeline.config import Settings, load_settings
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import audit_key, listing_key
from o365_pipeline.defs.partitions import (
    TENANT_DIMENSION,
    WINDOW_DIMENSION,
    partition_key_for,
    sync_tenant_partitions,
)
from o365_pipeline.tenants.directory import database_url_of, directory_for, open_registry
from o365_pipeline.tenants.registry import RegisteredTenant

POSTGRES_BATCH = 2000
LANDING_ASSETS: tuple[dg.AssetKey, ...] = tuple(
    key
    for content_type in CONTENT_TYPES
    for key in (listing_key(content_type), audit_key(content_type))
)


@dataclass(frozen=True)
class ScaleDeployment:
    """Where the deployment lives and what its settings are (the same for every process)."""

    root: Path
    partition_start: str
    tenant_names: tuple[str, ...]
    postgres_url: str | None = None  # the instance, registry and budget in PostgreSQL

    @property
    def data_dir(self) -> Path:
        """The deployment's data folder (`O365_DATA_DIR`)."""
        return self.root / "data"

    @property
    def dagster_home(self) -> Path:
        """The instance folder (`DAGSTER_HOME`): the data folder's own, as the demo sets it."""
        return self.data_dir / "dagster_home"

    def environment(self) -> dict[str, str]:
        """The variables a subprocess of this deployment is started with (added to os.environ)."""
        database = {"O365_POSTGRES_URL": self.postgres_url} if self.postgres_url else {}
        return {
            "O365_DATA_DIR": str(self.data_dir),
            "O365_PARTITION_START": self.partition_start,
            "DAGSTER_HOME": str(self.dagster_home),
            **database,
        }

    def settings(self) -> Settings:
        """The same settings, for code in this process."""
        return load_settings(
            data_dir=self.data_dir,
            partition_start=self.partition_start,
            dagster_home=self.dagster_home,
            postgres_url=self.postgres_url,
        )


def prepare_deployment(
    root: Path, *, tenants: int, days: int, now: datetime, postgres_url: str | None = None
) -> ScaleDeployment:
    """Register `tenants` customers and add them to the instance's tenant partitions, as
    `o365-pipeline tenants add` does (the registry entry, then `sync_tenant_partitions`).
    """
    start = (now - timedelta(days=days)).strftime("%Y-%m-%d")
    names = tuple(f"customer{number:03d}" for number in range(1, tenants + 1))
    deployment = ScaleDeployment(
        root=root, partition_start=start, tenant_names=names, postgres_url=postgres_url
    )
    deployment.data_dir.mkdir(parents=True, exist_ok=True)
    settings = deployment.settings()
    registry = open_registry(settings.registry_file, database_url_of(settings))
    for number, name in enumerate(names, start=1):
        registry.add(RegisteredTenant(name=name, tenant_id=numbered_tenant_id(number)))
    with open_instance(settings) as instance:
        sync_tenant_partitions(instance, directory_for(settings).all())
    return deployment


@dataclass(frozen=True)
class SeededHistory:
    """What `seed_history` wrote."""

    assets: int
    tenants: int
    windows: int
    materializations: int
    seconds: float
    first_window: str
    last_window: str


def seed_history(
    instance: dg.DagsterInstance,
    tenant_names: Sequence[str],
    *,
    hours: int,
    newest_window: datetime,
    assets: Sequence[dg.AssetKey] = LANDING_ASSETS,
) -> SeededHistory:
    """Record each landing asset as materialized for every tenant and each of the `hours`
    windows up to `newest_window`, each 15 minutes after its window ended (when the hourly
    schedule lands it), with the metadata a landed window carries.
    """
    windows = [newest_window - timedelta(hours=back) for back in range(hours - 1, -1, -1)]
    began = time.perf_counter()
    count = 0
    for asset in assets:
        events = list(_materializations(asset, tenant_names, windows))
        _store_in_bulk(instance, events[:-1])
        instance.event_log_storage.store_event(events[-1])
        count += len(events)
    return SeededHistory(
        assets=len(assets),
        tenants=len(tenant_names),
        windows=len(windows),
        materializations=count,
        seconds=round(time.perf_counter() - began, 1),
        first_window=f"{windows[0]:%Y-%m-%dT%H:%M}Z",
        last_window=f"{windows[-1]:%Y-%m-%dT%H:%M}Z",
    )


def _materializations(
    asset: dg.AssetKey, tenant_names: Sequence[str], windows: Sequence[datetime]
) -> Iterator[EventLogEntry]:
    for window in windows:
        landed_at = (window + timedelta(minutes=75)).timestamp()
        for tenant in tenant_names:
            key = partition_key_for(tenant, window)
            materialization = dg.AssetMaterialization(
                asset,
                partition=key,
                tags={
                    f"dagster/partition/{WINDOW_DIMENSION}": key.keys_by_dimension[
                        WINDOW_DIMENSION
                    ],
                    f"dagster/partition/{TENANT_DIMENSION}": tenant,
                },
                metadata={
                    "records": 120,
                    "blobs": 2,
                    "bytes": 48_000,
                    "path": f"audit/{asset.path[-1]}/tenant={tenant}/{window:%Y-%m-%d/%H}.parquet",
                },
            )
            yield EventLogEntry(
                user_message="",
                level=20,
                job_name=RUNLESS_JOB_NAME,
                run_id=RUNLESS_RUN_ID,
                error_info=None,
                timestamp=landed_at,
                dagster_event=DagsterEvent(
                    event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                    event_specific_data=StepMaterializationData(materialization),
                    job_name=RUNLESS_JOB_NAME,
                ),
            )


def _store_in_bulk(instance: dg.DagsterInstance, events: Sequence[EventLogEntry]) -> None:
    """The rows `SqliteEventLogStorage.store_event` writes for each event (the run shard's and
    the index shard's event row, the index's dimension tags), in one transaction per shard;
    on PostgreSQL, its own batch insert (the same rows).
    """
    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage):
        for start in range(0, len(events), POSTGRES_BATCH):
            storage.store_event_batch(events[start : start + POSTGRES_BATCH])
        return
    rows = [storage._event_to_row(event) for event in events]  # noqa: SLF001 - same rows
    with storage.run_connection(RUNLESS_RUN_ID) as connection:
        connection.execute(SqlEventLogStorageTable.insert(), rows)
    with storage.index_transaction() as connection:
        table = SqlEventLogStorageTable
        before = connection.execute(db.select(db.func.max(table.c.id))).scalar() or 0
        connection.execute(table.insert(), rows)
        ids = [
            row[0]
            for row in connection.execute(
                db.select(table.c.id).where(table.c.id > before).order_by(table.c.id)
            )
        ]
        if len(ids) != len(events):
            raise RuntimeError(f"stored {len(ids)} event rows for {len(events)} events")
        storage._store_asset_event_tags(connection, events, ids)  # noqa: SLF001 - same rows


def newest_settled_window(now: datetime) -> datetime:
    """The start of the newest complete hour before `now` (UTC)."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
