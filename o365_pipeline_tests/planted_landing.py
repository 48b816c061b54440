"""Four landed hours of one tenant with all five content types, once with the emulator's
planted attack patterns and once with background activity only, for the detection tests.

Yesterday's 08:00-12:00 windows: complete and inside the API's 7 days whenever tests run, and
their events (up to two hours before contentCreated) all fall on yesterday, one UTC day. Four
consecutive hours hold every pattern kind once (the emulator plants each kind every 4 hours).
Landed once per session with the same use cases the audit assets call, over loopback HTTPS.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from o365_emulator import EmulatorConfig, start_emulator
from o365_pipeline.api.windows import Window
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.pipeline.audit_table import ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import client_for
from o365_pipeline_tests.ground_truth import ground_truth_ids, planted_patterns

TENANT = DEMO_TENANTS[0]
FIRST_HOUR, HOURS = 8, 4


@dataclass(frozen=True)
class PlantedLanding:
    """A data folder with the tenant's landed windows, and what the emulator says it planted."""

    root: Path
    tenant: str
    day: date
    windows: tuple[datetime, ...]
    patterns: tuple[dict, ...]
    served_ids: frozenset[str]

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.root)


def _land(root: Path, config: EmulatorConfig) -> PlantedLanding:
    day = datetime.now(UTC).date() - timedelta(days=1)
    first = datetime(day.year, day.month, day.day, FIRST_HOUR, tzinfo=UTC)
    windows = tuple(first + timedelta(hours=offset) for offset in range(HOURS))
    with start_emulator(config) as emulator:
        client = client_for(emulator, tenant_id=TENANT.tenant_id)
        for content_type in CONTENT_TYPES:
            client.start_subscription(content_type.name)
        for content_type in CONTENT_TYPES:
            for start in windows:
                where = dict(
                    tenant=TENANT.name,
                    content_type=content_type.name,
                    window=Window(start, start + timedelta(hours=1)),
                )
                list_window(client, DataLayout(root), **where, now=datetime.now(UTC))
                ingest_window(client, DataLayout(root), **where, clock=lambda: datetime.now(UTC))
        client.close()
        end = windows[-1] + timedelta(hours=1)
        where = (emulator.base_url, emulator.ca_cert_path, TENANT.tenant_id)
        patterns = planted_patterns(*where, windows[0], end, timeout=30)
        served = ground_truth_ids(*where, windows, timeout=30)
    return PlantedLanding(root, TENANT.name, day, windows, tuple(patterns), frozenset(served))


@pytest.fixture(scope="session")
def planted_day(tmp_path_factory) -> PlantedLanding:
    """The windows with the emulator's default planting (every pattern kind once)."""
    return _land(tmp_path_factory.mktemp("planted"), EmulatorConfig(records_per_hour=30))


@pytest.fixture(scope="session")
def background_day(tmp_path_factory) -> PlantedLanding:
    """The same windows with planting switched off: background activity only."""
    config = EmulatorConfig(records_per_hour=30, planted_every_hours=0)
    return _land(tmp_path_factory.mktemp("background"), config)
