"""Subscription state: which content types each tenant has started or stopped, their webhooks,
and from when a restarted subscription may see content.

Kept in memory, or in a JSON file that is re-read on every subscription operation and replaced
atomically (temporary file + `os.replace`), with an advisory lock around read-modify-write, so
several processes that each run an in-process emulator over the same data folder agree, as
clients of one real tenant would.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENABLED, DISABLED = "enabled", "disabled"


@dataclass(frozen=True)
class Subscription:
    """One content type's subscription, as `subscriptions/list` shows it."""

    content_type: str
    status: str
    webhook: dict | None = None
    # Set when a stopped subscription is started again: content created before then stays out
    # of reach (ISO 8601 UTC; None = the first start's backfill is visible).
    content_from: str | None = None

    def as_listed(self) -> dict:
        """The list item; all three keys always present (Office 365 Management Activity API
        reference, "List current subscriptions").
        """
        return {"contentType": self.content_type, "status": self.status, "webhook": self.webhook}


class SubscriptionState:
    """`get(tenant, content_type)` → the subscription, or None when never started."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._memory: dict[str, dict[str, dict]] = {}

    def get(self, tenant: str, content_type: str) -> Subscription | None:
        """The tenant's subscription to `content_type`, or None when never started."""
        with self._locked():
            entry = self._load().get(tenant, {}).get(content_type)
        return _subscription(content_type, entry) if entry else None

    def all_for(self, tenant: str) -> list[Subscription]:
        """Every content type the tenant ever started, in name order."""
        with self._locked():
            entries = self._load().get(tenant, {})
        return [_subscription(name, entry) for name, entry in sorted(entries.items())]

    def put(self, tenant: str, subscription: Subscription) -> None:
        """Record a start or a stop."""
        with self._locked():
            state = self._load()
            state.setdefault(tenant, {})[subscription.content_type] = {
                "status": subscription.status,
                "webhook": subscription.webhook,
                "content_from": subscription.content_from,
            }
            self._save(state)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._path is None:
                yield
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with open(self._path.with_name(self._path.name + ".lock"), "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _load(self) -> dict[str, dict[str, dict]]:
        if self._path is None:
            return self._memory
        try:
            return json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, state: dict[str, dict[str, dict]]) -> None:
        if self._path is None:
            self._memory = state
            return
        temporary = self._path.with_name(f".{self._path.name}-{uuid.uuid4().hex}.tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(temporary, self._path)


def _subscription(content_type: str, entry: dict) -> Subscription:
    return Subscription(
        content_type, entry["status"], entry.get("webhook"), entry.get("content_from")
    )
