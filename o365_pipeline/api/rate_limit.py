"""A request budget shared by every process calling the API for one tenant and publisher.

The Activity API allows about 2,000 requests a minute per tenant, counted per
`PublisherIdentifier`. Dagster runs each partition in its own process, so a 50-tenant backfill
is dozens of independent clients; a limit inside one process cannot keep their sum under the
quota. This token bucket lives in a small file per (tenant, publisher) and is updated under an
exclusive `flock`, so all processes on the machine draw from one budget. Several machines
share it through PostgreSQL instead (`O365_POSTGRES_URL`, `rate_limit_postgres.py`): the same
bucket arithmetic (`take_token`), kept in a row under a row lock. `request_budget_for` builds
whichever the client's settings name; the composition root decides which that is.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from o365_pipeline.api.settings import ClientSettings

log = logging.getLogger(__name__)
CLOCK_SLACK_SECONDS = 5.0  # processes' clocks may disagree this much before state looks damaged


class RequestBudget(Protocol):
    """What the transport asks of a shared budget, whichever store keeps it."""

    seconds_waited: float

    def acquire(self) -> float:
        """Block until one request may be sent; return the seconds waited."""
        ...


def request_budget_for(
    settings: ClientSettings, sleep: Callable[[float], None] = time.sleep
) -> RequestBudget | None:
    """The budget `settings` name: in the database when it has a URL, else in the folder;
    None without a limit (or without either place to keep it).
    """
    if not settings.rate_limit_per_minute:
        return None
    key = f"{settings.tenant_id}|{settings.publisher}"
    if settings.rate_limit_database_url:
        from o365_pipeline.api.rate_limit_postgres import PostgresRateLimiter
        from o365_pipeline.storage.postgres import DatabaseUrl

        return PostgresRateLimiter(
            DatabaseUrl(settings.rate_limit_database_url, settings.rate_limit_database_password),
            key,
            per_minute=settings.rate_limit_per_minute,
            burst=settings.rate_limit_burst,
            sleep=sleep,
        )
    if settings.rate_limit_folder:
        return SharedRateLimiter(
            settings.rate_limit_folder,
            key,
            per_minute=settings.rate_limit_per_minute,
            burst=settings.rate_limit_burst,
            sleep=sleep,
        )
    return None


def take_token(
    tokens: float, at: float, now: float, *, rate: float, burst: float
) -> tuple[float, float]:
    """One step of the token bucket: refill from `at` to `now` at `rate` per second (never
    beyond `burst`), then take a token. Returns (tokens left, 0) when one was taken, else
    (tokens, seconds until one is due); either way the caller stores (tokens, now).
    """
    tokens = min(burst, tokens + max(0.0, now - at) * rate)
    if tokens >= 1:
        return tokens - 1, 0.0
    return tokens, (1 - tokens) / rate


def plausible_state(tokens: float, at: float, now: float, burst: float) -> bool:
    """Whether stored (tokens, at) can be trusted: a count within [0, burst] and a time not
    in the future (beyond the clock slack). Anything else is treated as an empty bucket as of
    now, so neither the quota is exceeded nor any wait longer than one token's refill.
    """
    finite = math.isfinite(tokens) and math.isfinite(at)
    return finite and 0 <= tokens <= burst and at <= now + CLOCK_SLACK_SECONDS


class SharedRateLimiter:
    """`acquire()` blocks until one request may be sent under the shared budget (a file)."""

    def __init__(
        self,
        folder: Path | str,
        key: str,
        *,
        per_minute: float,
        burst: int = 20,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self._path = Path(folder) / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.bucket"
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self.seconds_waited = 0.0
        self._path.parent.mkdir(parents=True, exist_ok=True)

    def acquire(self) -> float:
        """Take one token, waiting for the bucket to refill when it is empty; return the
        seconds waited (never more than one token's refill time per try).
        """
        waited = 0.0
        while True:
            wait = self._try_take()
            if wait <= 0:
                return waited
            waited += wait
            self.seconds_waited += wait
            self._sleep(wait)

    def _try_take(self) -> float:
        """Take a token now and return 0, or return the seconds until one is due."""
        with open(self._path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            now = self._clock()
            tokens, at = self._read_state(handle.read(), now)
            tokens, wait = take_token(tokens, at, now, rate=self._rate, burst=self._burst)
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"tokens": tokens, "at": now}))
            handle.flush()  # no fsync: a lost budget after a crash only means a fresh bucket
            return wait

    def _read_state(self, text: str, now: float) -> tuple[float, float]:
        """The bucket's (tokens, at), failing safe: a missing file is a full bucket; a damaged
        one (unreadable, negative or non-finite count, a time in the future) is an empty bucket
        as of now, so neither the quota is exceeded nor any wait longer than one token's refill.
        """
        if not text.strip():
            return self._burst, now
        try:
            state = json.loads(text)
            tokens, at = float(state["tokens"]), float(state["at"])
        except (ValueError, TypeError, KeyError):
            tokens, at = math.nan, math.nan
        if plausible_state(tokens, at, now, self._burst):
            return tokens, at
        log.warning("the request budget file %s was damaged; starting it afresh", self._path)
        return 0.0, now
