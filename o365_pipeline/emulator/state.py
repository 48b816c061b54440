"""Subscription state: which content types each tenant has started or stopped.

Kept in memory, and optionally in a JSON file re-read on every operation and replaced
atomically, so several processes that each run an in-process emulator over the same data folder
agree, as clients of one real tenant would.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path


class SubscriptionState:
    """`status(tenant, content_type)` → "enabled", "disabled" or None (never started)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._memory: dict[str, dict[str, str]] = {}

    def status(self, tenant: str, content_type: str) -> str | None:
        """The subscription status, or None when never started."""
        with self._lock:
            return self._load().get(tenant, {}).get(content_type)

    def all_for(self, tenant: str) -> dict[str, str]:
        """Every content type the tenant ever started, with its status."""
        with self._lock:
            return dict(self._load().get(tenant, {}))

    def set_status(self, tenant: str, content_type: str, status: str) -> None:
        """Record a start ("enabled") or stop ("disabled")."""
        with self._lock:
            state = self._load()
            state.setdefault(tenant, {})[content_type] = status
            self._save(state)

    def _load(self) -> dict[str, dict[str, str]]:
        if self._path is None:
            return self._memory
        try:
            return json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, state: dict[str, dict[str, str]]) -> None:
        if self._path is None:
            self._memory = state
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_name(f".{self._path.name}-{uuid.uuid4().hex}.tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(temporary, self._path)
