"""Faults the emulator injects into Activity API requests, switchable at run time.

A fault is any object with `answer(request) -> Reply | None`; the plan keeps a queue of them
and the first pending one that answers a request consumes itself. Throttling comes first
(AF429 on 403 as documented, or 429 with `Retry-After` as collectors report, detail §5); later
faults (5xx bursts, resets, slow or truncated blobs) join as new classes without touching the
server. Token requests are never faulted here: they are Entra's, not the Activity API's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from o365_pipeline.emulator.errors import api_error
from o365_pipeline.emulator.responses import Reply

NO_PUBLISHER = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class ApiRequest:
    """What a fault may look at: the operation and the caller's PublisherIdentifier."""

    method: str
    operation: str
    publisher_id: str | None


class Fault(Protocol):
    """One pending fault."""

    def answer(self, request: ApiRequest) -> Reply | None:
        """The reply replacing the real one, or None to let the request through."""


# The service's internal operation names, as AF429 messages show them (detail §5).
_METHOD_NAMES = {
    "subscriptions/start": "StartSubscription",
    "subscriptions/stop": "StopSubscription",
    "subscriptions/list": "ListSubscriptions",
    "subscriptions/content": "ListContent",
    "subscriptions/notifications": "ListNotifications",
    "resources/dlpSensitiveTypes": "GetDlpSensitiveTypes",
}


@dataclass(frozen=True)
class Throttle:
    """Answer one request with AF429 on `status`, with `Retry-After` when given."""

    status: int = 429
    retry_after_seconds: int | None = 1

    def answer(self, request: ApiRequest) -> Reply:
        """The AF429 answer, naming the method and the publisher like the live text."""
        method = (
            "GetBlob"
            if request.operation.startswith("audit/")
            else _METHOD_NAMES.get(request.operation, "Unknown")
        )
        headers = (
            {"Retry-After": str(self.retry_after_seconds)}
            if self.retry_after_seconds is not None
            else None
        )
        return api_error(
            "AF429",
            status=self.status,
            headers=headers,
            method=method,
            publisher_id=request.publisher_id or NO_PUBLISHER,
        )


class FaultPlan:
    """Thread-safe queue of pending faults, consulted by every Activity API request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def throttle_next(
        self, count: int, retry_after_seconds: int | None = 1, status: int = 429
    ) -> None:
        """Answer the next `count` API requests with AF429 (429, or 403 as documented)."""
        self.inject(*[Throttle(status, retry_after_seconds)] * count)

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each answers (and is used up by) one request."""
        with self._lock:
            self._pending.extend(faults)

    def take(self, request: ApiRequest) -> Reply | None:
        """The reply of the first pending fault that answers this request, if any."""
        with self._lock:
            for position, fault in enumerate(self._pending):
                reply = fault.answer(request)
                if reply is not None:
                    del self._pending[position]
                    return reply
        return None

    def clear(self) -> None:
        """Switch every pending fault off."""
        with self._lock:
            self._pending.clear()
