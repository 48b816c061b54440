"""The durable log of webhook notifications: one row per content blob announced, kept under the
data folder, written before the receiver answers 200.

Why SQLite (the standard library's): the receiver must not lose a notification it answered
200 for (the service will not send it again) and must record each blob once however often it
is re-sent, while the sensor reads the log from another process. A transaction with
`synchronous=FULL` in WAL mode is on disk when `COMMIT` returns, a crash mid-write rolls back
to the last commit, `contentId` as a unique key de-duplicates, and readers never block the
writer. The sequence number orders rows for the sensor's cursor. Keep the file on a local disk
(SQLite's locking is not safe over network file systems).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from o365_pipeline.api.content import ContentBlob
from o365_pipeline.api.notifications import ContentNotification
from o365_pipeline.api.windows import parse_api_time

LOG_FILE = Path("notifications") / "webhook.sqlite3"
BUSY_TIMEOUT_SECONDS = 10.0  # a writer waits this long for another, then fails loudly
_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    content_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content_uri TEXT NOT NULL,
    content_created TEXT NOT NULL,
    content_expiration TEXT NOT NULL,
    received_at TEXT NOT NULL
)
"""
_COLUMNS = (
    "sequence, content_id, tenant_id, client_id, content_type, content_uri, content_created, "
    "content_expiration, received_at"
)


@dataclass(frozen=True)
class RecordedNotification:
    """A row of the log: the blob announced, when it was received, and its place in order."""

    sequence: int
    notification: ContentNotification
    received_at: datetime


class NotificationLog:
    """`record()` for the receiver, `after()` for the sensor; one file per data folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> NotificationLog:
        """The log of the deployment whose data folder is `data_dir`."""
        return cls(Path(data_dir) / LOG_FILE)

    def record(self, notifications: Sequence[ContentNotification], received_at: datetime) -> int:
        """Append the blobs not recorded yet, in one durable transaction; how many were new."""
        rows = [
            (
                item.blob.content_id,
                item.tenant_id,
                item.client_id,
                item.blob.content_type,
                item.blob.content_uri,
                item.blob.content_created.isoformat(),
                item.blob.content_expiration.isoformat(),
                received_at.isoformat(),
            )
            for item in notifications
        ]
        with self._connection(create=True) as connection:
            before = connection.total_changes
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT OR IGNORE INTO notifications (content_id, tenant_id, client_id, "
                "content_type, content_uri, content_created, content_expiration, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            connection.execute("COMMIT")
            return connection.total_changes - before

    def after(self, sequence: int, limit: int = 10_000) -> list[RecordedNotification]:
        """Rows recorded after `sequence`, oldest first, at most `limit` (none: no log yet)."""
        if not self.path.exists():
            return []
        with self._connection(create=False) as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM notifications WHERE sequence > ? "  # noqa: S608
                "ORDER BY sequence LIMIT ?",
                (sequence, limit),
            ).fetchall()
        return [_recorded(row) for row in rows]

    def rows(self, sequences: Sequence[int]) -> list[RecordedNotification]:
        """The rows with these sequence numbers, oldest first."""
        if not sequences or not self.path.exists():
            return []
        marks = ", ".join("?" * len(sequences))
        with self._connection(create=False) as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM notifications WHERE sequence IN ({marks}) "  # noqa: S608
                "ORDER BY sequence",
                tuple(sequences),
            ).fetchall()
        return [_recorded(row) for row in rows]

    def count(self) -> int:
        """How many blobs were recorded."""
        if not self.path.exists():
            return 0
        with self._connection(create=False) as connection:
            return connection.execute("SELECT count(*) FROM notifications").fetchone()[0]

    @contextmanager
    def _connection(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        with closing(connection):
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(_SCHEMA)  # a reader may open the file before the writer's table
            yield connection


def _recorded(row: tuple) -> RecordedNotification:
    sequence, content_id, tenant_id, client_id, content_type, uri, created, expiration, at = row
    blob = ContentBlob(
        content_type=content_type,
        content_id=content_id,
        content_uri=uri,
        content_created=parse_api_time(created),
        content_expiration=parse_api_time(expiration),
    )
    return RecordedNotification(
        sequence, ContentNotification(tenant_id, client_id, blob), parse_api_time(at)
    )
