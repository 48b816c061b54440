"""The demo's data, small: both demo tenants × every content type × the last two complete
hours, listed and ingested from the emulator over loopback HTTPS with the use cases the audit
assets call, at the demo's 40 records per tenant, content type and hour, and the detections of
those days. Landed once per session (about 5 s); tests read it and never change it.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from o365_emulator import EmulatorConfig, start_emulator
from o365_pipeline.api.windows import Window
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.pipeline.audit_table import ingest_window
from o365_pipeline.pipeline.detections import detect_day
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import client_for

DEMO_HOURS = 2
DEMO_RECORDS_PER_HOUR = 40


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The data folder (read only)."""
    root = tmp_path_factory.mktemp("demo_data")
    newest = _now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    starts = [newest - timedelta(hours=back) for back in range(DEMO_HOURS)]
    with start_emulator(EmulatorConfig(records_per_hour=DEMO_RECORDS_PER_HOUR)) as emulator:
        for tenant in DEMO_TENANTS:
            client = client_for(emulator, tenant_id=tenant.tenant_id)
            for content_type in CONTENT_TYPES:
                client.start_subscription(content_type.name)
                for start in starts:
                    where = dict(
                        tenant=tenant.name,
                        content_type=content_type.name,
                        window=Window(start, start + timedelta(hours=1)),
                    )
                    list_window(client, DataLayout(root), **where, now=_now())
                    ingest_window(client, DataLayout(root), **where, clock=_now)
            client.close()
    for tenant in DEMO_TENANTS:  # the demo ends with its detections, so the data has them too
        for day in sorted({start.date() for start in starts}):
            detect_day(root, tenant.name, day)
    return root
