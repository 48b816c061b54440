"""The shared request budget kept in PostgreSQL, for deployments spread over several machines.

The Activity API counts about 2,000 requests a minute per tenant and `PublisherIdentifier`,
whichever machine sends them, so a file lock on one machine is not enough once runs start on
others. Each (tenant, publisher) bucket is one row; taking a token reads it under
`SELECT … FOR UPDATE`, so concurrent takers queue on the row lock and every take sees the one
before it, across processes and machines. Time is the database server's clock, so machines
whose clocks disagree still refill one bucket at one rate. The arithmetic is the file
budget's own (`take_token`, `plausible_state`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from o365_pipeline.api.rate_limit import plausible_state, take_token
from o365_pipeline.storage.postgres import DatabaseUrl, SharedConnection

log = logging.getLogger(__name__)
TABLE = "o365_request_budget"
# Creating the table twice at once fails in PostgreSQL even with IF NOT EXISTS; one
# transaction-scoped advisory lock (an arbitrary constant of this project) serializes it.
SCHEMA_LOCK = 0x0365_B0D6
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    bucket text PRIMARY KEY,
    tokens double precision NOT NULL,
    at double precision NOT NULL
)
"""


class PostgresRateLimiter:
    """`acquire()` blocks until one request may be sent under the budget kept in the database.

    `clock` is the database's unless one is injected (tests).
    """

    def __init__(
        self,
        url: DatabaseUrl,
        key: str,
        *,
        per_minute: float,
        burst: int = 20,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self._database = SharedConnection(url)
        self._key = key
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._schema_ready = False
        self.seconds_waited = 0.0

    def acquire(self) -> float:
        """Take one token, waiting for the bucket to refill when it is empty; return the
        seconds waited (never more than one token's refill time per try).
        """
        waited = 0.0
        while True:
            wait = self._database.run(self._try_take)
            self._schema_ready = True  # only once a transaction that made it has committed
            if wait <= 0:
                return waited
            waited += wait
            self.seconds_waited += wait
            self._sleep(wait)

    def close(self) -> None:
        """Release the connection."""
        self._database.close()

    def _try_take(self, cursor) -> float:
        """Take a token now and return 0, or return the seconds until one is due."""
        if not self._schema_ready:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cursor.execute(SCHEMA)
        cursor.execute(
            f"INSERT INTO {TABLE} (bucket, tokens, at) VALUES (%s, %s, %s) "
            "ON CONFLICT (bucket) DO NOTHING",
            (self._key, self._burst, self._now(cursor)),
        )
        cursor.execute(f"SELECT tokens, at FROM {TABLE} WHERE bucket = %s FOR UPDATE", (self._key,))
        tokens, at = cursor.fetchone()
        now = self._now(cursor)  # read after the lock: the wait for it must count as time
        if not plausible_state(tokens, at, now, self._burst):
            log.warning("the request budget row %r was damaged; starting it afresh", self._key)
            tokens, at = 0.0, now
        tokens, wait = take_token(tokens, at, now, rate=self._rate, burst=self._burst)
        cursor.execute(
            f"UPDATE {TABLE} SET tokens = %s, at = %s WHERE bucket = %s",
            (tokens, now, self._key),
        )
        return wait

    def _now(self, cursor) -> float:
        if self._clock is not None:
            return self._clock()
        cursor.execute("SELECT extract(epoch FROM clock_timestamp())::double precision")
        return cursor.fetchone()[0]
