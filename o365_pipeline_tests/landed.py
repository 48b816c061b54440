"""A small landed dataset for the tests that damage it: windows of two tenants and two content
types, listed and ingested from the emulator over loopback HTTPS with the same use cases the
audit assets call. Landed once per session, then copied fresh into each test's folder.
"""

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from o365_emulator import EmulatorConfig, start_emulator
from o365_pipeline.api.windows import Window
from o365_pipeline.pipeline.audit_table import ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.storage.layout import DataLayout, StoredPartition
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import client_for

CONTOSO, FABRIKAM = DEMO_TENANTS[0], DEMO_TENANTS[1]
EXCHANGE, SHAREPOINT = "Audit.Exchange", "Audit.SharePoint"


@dataclass(frozen=True)
class LandedData:
    """A data folder and the windows landed in it (oldest first)."""

    root: Path
    windows: tuple[StoredPartition, ...]

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.root)

    def audit_file(self, window: StoredPartition) -> Path:
        return self.layout.audit_file(window.content_type, window.tenant, window.window_start)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _windows() -> tuple[StoredPartition, ...]:
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    return (
        StoredPartition(EXCHANGE, CONTOSO.name, newest - timedelta(hours=1)),
        StoredPartition(EXCHANGE, CONTOSO.name, newest),
        StoredPartition(SHAREPOINT, CONTOSO.name, newest),
        StoredPartition(EXCHANGE, FABRIKAM.name, newest),
    )


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def landed_original(tmp_path_factory) -> LandedData:
    """Landed once; never damaged (tests get a copy from `landed_dataset`)."""
    root = tmp_path_factory.mktemp("landed")
    windows = _windows()
    with start_emulator(EmulatorConfig(records_per_hour=30)) as emulator:
        for tenant in (CONTOSO, FABRIKAM):
            client = client_for(emulator, tenant_id=tenant.tenant_id)
            for content_type in (EXCHANGE, SHAREPOINT):
                client.start_subscription(content_type)
            for stored in (window for window in windows if window.tenant == tenant.name):
                window = Window(stored.window_start, stored.window_start + timedelta(hours=1))
                where = dict(tenant=tenant.name, content_type=stored.content_type, window=window)
                list_window(client, DataLayout(root), **where, now=_now())
                ingest_window(client, DataLayout(root), **where, clock=_now)
            client.close()
    return LandedData(root, windows)


@pytest.fixture
def landed_dataset(landed_original, tmp_path) -> LandedData:
    """A private copy of the landed dataset, free to damage."""
    copy = tmp_path / "data"
    shutil.copytree(landed_original.root, copy)
    return LandedData(copy, landed_original.windows)
