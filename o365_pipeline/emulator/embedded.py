"""The emulator started on demand inside the current process: the default target of the
Dagster resource and the demo, so a new user gets data flowing with no credentials.

Dagster runs each step in its own process, and each starts its own embedded emulator. They
agree on everything because synthetic content is a pure function of (tenant, content type,
hour), and subscription state is kept in one file under the data folder, as one real tenant
would keep it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from o365_pipeline.emulator import Emulator, EmulatorConfig, start_emulator

_lock = threading.Lock()
_running: dict[EmulatorConfig, Emulator] = {}


def embedded_emulator(
    *, tenant_ids: tuple[str, ...], state_dir: Path, records_per_hour: int
) -> Emulator:
    """Return this process's emulator for these settings, starting it on first use."""
    state_dir.mkdir(parents=True, exist_ok=True)
    config = EmulatorConfig(
        tenants=tenant_ids,
        records_per_hour=records_per_hour,
        state_path=state_dir / "subscriptions.json",
    )
    with _lock:
        if config not in _running:
            _running[config] = start_emulator(config, host="127.0.0.1", port=0)
        return _running[config]
