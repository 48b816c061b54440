"""Push notifications, the use cases: answer a POST to the webhook (check its authId, record
what it announces durably, then say 200), and turn recorded notifications into the tenant ×
hour windows to land.

The receiver never fetches anything: a notification only says a blob exists. Landing stays
the ingest job's, which lists the whole window itself, so a window is complete only by
listing and polling remains the safety net for anything a notification missed ("List
notifications": use `/content`, not notifications, "to determine what content is currently
available for retrieval", Office 365 Management Activity API reference).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from o365_pipeline.api.notifications import (
    MalformedNotificationError,
    ValidationPost,
    read_webhook_post,
)
from o365_pipeline.api.windows import RETENTION, Window
from o365_pipeline.storage.notification_log import NotificationLog
from o365_pipeline.tenants import Tenant

AUTH_HEADER = "Webhook-AuthID"  # the reference's spelling; HTTP header names are case-blind


@dataclass(frozen=True)
class WebhookAnswer:
    """The HTTP status to send, and the one line to log about it (never a secret)."""

    status: int
    log_line: str


def answer_webhook_post(
    *,
    auth_id: str | None,
    body: bytes,
    expected_auth_id: SecretStr,
    log: NotificationLog,
    clock: Callable[[], datetime],
) -> WebhookAnswer:
    """Judge one POST to the webhook: 401 without the configured authId, 400 for a body that
    is neither a validation nor a notification, else 200, after the notified blobs are on disk
    (the service retries anything but 200, so an unrecorded notification must not get one).
    """
    if auth_id is None:
        return WebhookAnswer(401, f"refused a POST without {AUTH_HEADER}")
    if not auth_id_matches(auth_id, expected_auth_id):
        return WebhookAnswer(
            401, f"refused a POST whose {AUTH_HEADER} is not O365_WEBHOOK_AUTH_ID's value"
        )
    try:
        post = read_webhook_post(body)
    except MalformedNotificationError as error:
        return WebhookAnswer(400, f"refused a malformed POST: {error}")
    if isinstance(post, ValidationPost):
        return WebhookAnswer(200, "answered the validation POST of subscriptions/start")
    new = log.record(post, received_at=clock())
    tenants = sorted({item.tenant_id for item in post})
    return WebhookAnswer(
        200, f"recorded {new} new of {len(post)} notified blob(s) for {', '.join(tenants)}"
    )


def auth_id_matches(received: str, expected: SecretStr) -> bool:
    """Constant-time comparison, so the answer's timing says nothing about the secret."""
    return hmac.compare_digest(received.encode(), expected.get_secret_value().encode())


@dataclass(frozen=True)
class NotifiedWindow:
    """A tenant's window with blobs announced in it since the cursor."""

    tenant: str
    window: Window
    content_ids: tuple[str, ...]

    @property
    def digest(self) -> str:
        """Names this set of blobs (a run key part: the same set never launches twice)."""
        return hashlib.sha256("|".join(sorted(self.content_ids)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class NotificationCursor:
    """How far the recorded notifications were handled: every row up to `after`, except the
    `waiting` ones (blobs whose hour had not ended, so their partition did not exist yet).
    """

    after: int = 0
    waiting: tuple[int, ...] = ()

    def encode(self) -> str:
        """The cursor as a sensor stores it."""
        return json.dumps({"after": self.after, "waiting": list(self.waiting)})

    @classmethod
    def decode(cls, text: str | None) -> NotificationCursor:
        """A stored cursor (None or empty: from the first row)."""
        if not text:
            return cls()
        value = json.loads(text)
        return cls(int(value["after"]), tuple(int(seq) for seq in value["waiting"]))


@dataclass(frozen=True)
class NotifiedWindows:
    """What the notifications recorded since a cursor ask for."""

    ready: tuple[NotifiedWindow, ...]
    cursor: NotificationCursor
    # Blobs of tenants not served here, or outside the windows that can be landed.
    ignored: int

    @property
    def waiting(self) -> int:
        """Blobs whose window has not ended yet."""
        return len(self.cursor.waiting)


def notified_windows(
    log: NotificationLog,
    *,
    cursor: NotificationCursor,
    tenants: Sequence[Tenant],
    now: datetime,
    earliest: datetime,
) -> NotifiedWindows:
    """Group the blobs recorded since `cursor` by tenant and hour window (of contentCreated,
    which is what a window selects on); each recorded blob is returned in exactly one call.

    A window is ready once its hour has ended; until then its blobs wait in the cursor and a
    later call returns them. Blobs of unknown tenants, windows before `earliest` (the first
    partition) or past the API's 7-day listing retention are ignored.
    """
    by_tenant_id = {tenant.tenant_id.lower(): tenant.name for tenant in tenants}
    fresh = log.after(cursor.after)
    grouped: dict[tuple[str, datetime], list[str]] = {}
    waiting: list[int] = []
    ignored = 0
    for row in [*log.rows(cursor.waiting), *fresh]:
        created = row.notification.blob.content_created.astimezone(UTC)
        start = created.replace(minute=0, second=0, microsecond=0)
        name = by_tenant_id.get(row.notification.tenant_id.lower())
        if name is None or start < earliest or start < now - RETENTION:
            ignored += 1
        elif start + timedelta(hours=1) > now:
            waiting.append(row.sequence)
        else:
            grouped.setdefault((name, start), []).append(row.notification.blob.content_id)
    after = fresh[-1].sequence if fresh else cursor.after
    ready = tuple(
        NotifiedWindow(name, Window(start, start + timedelta(hours=1)), tuple(ids))
        for (name, start), ids in sorted(grouped.items(), key=lambda entry: entry[0][1])
    )
    return NotifiedWindows(ready, NotificationCursor(after, tuple(waiting)), ignored)
