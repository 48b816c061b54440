"""Materialize assets through Dagster against the embedded emulator, in a temporary data folder."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from o365_emulator.embedded import stop_embedded_emulator
from o365_pipeline.content_types import content_type_named
from o365_pipeline.definitions import LocalEmulatorApiResource
from o365_pipeline.defs.assets import build_landing_assets, build_subscriptions_asset
from o365_pipeline.defs.partitions import audit_partitions, partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.tenants import DEMO_TENANTS

EXCHANGE = content_type_named("Audit.Exchange")


@dataclass
class Pipeline:
    data_dir: Path
    assets: list
    resources: dict
    instance: dg.DagsterInstance

    def materialize_window(self, tenant: str, window_start: datetime, raise_on_error=True):
        return dg.materialize(
            self.assets[1:],
            resources=self.resources,
            instance=self.instance,
            partition_key=partition_key_for(tenant, window_start),
            raise_on_error=raise_on_error,
        )

    @property
    def emulator(self):
        return self.resources["management_api"].emulator(DEMO_TENANTS)


@pytest.fixture
def pipeline(tmp_path) -> Pipeline:
    partitions = audit_partitions(DEMO_TENANTS)
    assets = [
        build_subscriptions_asset(DEMO_TENANTS),
        *build_landing_assets([EXCHANGE], DEMO_TENANTS, partitions),
    ]
    resources = {
        "management_api": LocalEmulatorApiResource(emulator_state_dir=str(tmp_path / ".emulator")),
        "storage": StorageResource(data_dir=str(tmp_path)),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        dg.materialize(assets[:1], resources=resources, instance=instance)
        yield Pipeline(tmp_path, assets, resources, instance)
    stop_embedded_emulator(tmp_path / ".emulator")


@pytest.fixture
def last_complete_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
