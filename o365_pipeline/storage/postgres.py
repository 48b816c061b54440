"""A connection to the deployment's PostgreSQL database (`O365_POSTGRES_URL`), the one thing
several machines share besides the object store: Dagster's instance, the tenant registry and
the request budget live there.

The driver is psycopg2, the one `dagster-postgres` already installs (the `postgres` extra), so
the project adds no second engine. Every connection is bounded (a connect timeout, and a
statement timeout so that a lock held by a stuck process cannot hold a caller for ever), and a
failure is one line naming the host and database, never the password.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from o365_pipeline.errors import PipelineError

CONNECT_TIMEOUT_SECONDS = 10
STATEMENT_TIMEOUT_SECONDS = 30


class DatabaseError(PipelineError, ConnectionError):
    """The database cannot be reached or refused a statement (the message says which)."""

    retriable = True


@dataclass(frozen=True)
class DatabaseUrl:
    """A `postgresql://` URL and the password that goes with it (kept apart: the URL may be
    shown and written into dagster.yaml, the password never is).
    """

    value: str
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted})"

    @property
    def redacted(self) -> str:
        """host:port/database, what a message may show."""
        parts = urlsplit(self.value)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"postgresql://{host}{port}{parts.path}"


def _driver():
    try:
        import psycopg2
    except ImportError:
        raise DatabaseError(
            "O365_POSTGRES_URL is set but the PostgreSQL driver is not installed: "
            "pip install 'o365-pipeline[postgres]' (or unset O365_POSTGRES_URL)."
        ) from None
    return psycopg2


def connect(url: DatabaseUrl):
    """A new autocommit-off psycopg2 connection with bounded connect and statement times."""
    psycopg2 = _driver()
    secret = {"password": url.password} if url.password else {}
    try:
        return psycopg2.connect(
            url.value,
            **secret,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000}",
            application_name="o365-pipeline",
        )
    except psycopg2.Error as error:
        raise DatabaseError(_explained(url, error)) from None


class SharedConnection:
    """One connection per object, reused by its callers one at a time (threads included) and
    opened again after the server dropped it, so a code location asking the registry several
    times per step pays one connect, not one each time.
    """

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._connection = None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction: committed when the block ends, rolled back (and
        the error explained) when a statement fails.
        """
        psycopg2 = _driver()
        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = connect(self.url)
            connection = self._connection
            try:
                with connection, connection.cursor() as cursor:
                    yield cursor
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                connection.close()
                raise DatabaseError(_explained(self.url, error)) from None
            except psycopg2.Error as error:
                raise DatabaseError(_explained(self.url, error)) from None

    def run(self, work: Callable[[Any], Any]) -> Any:
        """`work(cursor)` in one transaction; retried once on a fresh connection when the old
        one was dropped by the server (a restart, an idle timeout) before it could start.
        """
        try:
            with self.transaction() as cursor:
                return work(cursor)
        except DatabaseError:
            if self._connection is not None and not self._connection.closed:
                raise
            with self.transaction() as cursor:
                return work(cursor)

    def close(self) -> None:
        """Close the connection (a later use opens a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _explained(url: DatabaseUrl, error: Exception) -> str:
    detail = " ".join(str(error).split()) or type(error).__name__
    # libpq may echo the connection string; it must not reach a log with the password in it.
    if url.password:
        detail = detail.replace(url.password, "***")
    return (
        f"The database {url.redacted} (O365_POSTGRES_URL) failed: {detail}. Check that the "
        "server runs and accepts this user and database, or unset O365_POSTGRES_URL to keep "
        "Dagster, the registry and the request budget in local files."
    )
