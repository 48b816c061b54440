"""The in-process reference of the Dagster benchmark: the same windows, every content type at
once, through the core's `land_windows` with a client built from the same settings; no Dagster.

`python -m o365_pipeline_tests.bench.plain_loop NAME TENANT_ID WINDOW_START...`
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from o365_pipeline.api.windows import Window
from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.config import load_settings
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.pipeline.subscriptions import ensure_subscriptions
from o365_pipeline.pipeline.window_landing import WindowFailure, land_windows
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.tenants.registry import RegisteredTenant, TenantRegistry


def main(name: str, tenant_id: str, *starts: str) -> int:
    """Land the windows; exit 1 if any failed."""
    settings = load_settings()
    registry = TenantRegistry(settings.registry_file)
    if not any(entry.name == name for entry in registry.tenants()):
        registry.add(RegisteredTenant(name, tenant_id))
    client = Deployment(settings).client_named(name)
    ensure_subscriptions(client, name, CONTENT_TYPES)
    windows = [
        Window(start, start + timedelta(hours=1))
        for start in (datetime.fromisoformat(text).astimezone(UTC) for text in starts)
    ]
    layout = DataLayout(settings.resolved_data_dir)

    def land(content_type: str) -> int:
        outcomes = land_windows(
            client,
            layout,
            None,
            tenant=name,
            content_type=content_type,
            windows=windows,
            clock=lambda: datetime.now(UTC),
        )
        outcomes = list(outcomes)
        for outcome in outcomes:
            if isinstance(outcome, WindowFailure):
                print(content_type, outcome.error, file=sys.stderr)
        return sum(isinstance(outcome, WindowFailure) for outcome in outcomes)

    with ThreadPoolExecutor(max_workers=len(CONTENT_TYPES)) as pool:
        failed = sum(pool.map(land, [kind.name for kind in CONTENT_TYPES]))
    print(f"{len(windows)} window(s) × {len(CONTENT_TYPES)} types, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
