"""Push notifications: what the service POSTs to a subscription's webhook as new content blobs
become available (Office 365 Management Activity API reference, "Receiving notifications" and
"Notification failure and retry",
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference).

- Once `subscriptions/start` saved a validated webhook, every blob of that tenant and content
  type whose contentCreated is reached on the emulator's clock is notified (content available
  before the webhook was saved is not: it is there to be listed).
- A notification is an HTTP POST over TLS of a JSON array of one or more objects, each the
  listing item plus `tenantId` and `clientId`, with `Webhook-AuthID` when the webhook has an
  authId. "The number of content blobs in each notification is limited": at most
  `batch_size` per POST.
- "Any response other than HTTP 200 OK will be considered a failure and the notification will
  be retried"; "our retry mechanism will exponentially increase the time between retries. If
  we continue to encounter failures, we reserve the right to disable the webhook". The
  reference gives no numbers, so they are settings: the first retry after
  `first_retry_seconds`, each wait doubled up to `max_retry_seconds`, and after
  `give_up_seconds` of failures the webhook is disabled (listed with status "disabled";
  `start` re-enables it, as the reference says). A webhook past its `expiration` is no longer
  notified and is listed as "expired".
- Every attempt is kept for `subscriptions/notifications` (`notificationSent`,
  `notificationStatus`), newest last, bounded in memory.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from o365_emulator.listing import format_api_time, parse_api_time
from o365_emulator.state import ENABLED, Subscription, SubscriptionState
from o365_emulator.synthetic import BlobSpec
from o365_emulator.webhooks import WebhookValidator

HISTORY_LIMIT = 20_000
# The reference's notification example sends this exact Content-Type.
NOTIFICATION_CONTENT_TYPE = "application/json; utf-8"

AvailableBlobs = Callable[[str, str, datetime, datetime], list[BlobSpec]]
ListedItem = Callable[[BlobSpec], dict]


@dataclass(frozen=True)
class NotificationSchedule:
    """How often the notifier looks for new blobs, and its retry policy (seconds)."""

    scan_seconds: float = 1.0
    first_retry_seconds: float = 60.0
    max_retry_seconds: float = 3600.0
    give_up_seconds: float = 86_400.0
    batch_size: int = 100

    def retry_delay(self, failures: int) -> float:
        """The wait before the next attempt after `failures` failed ones (doubling, capped)."""
        return min(self.first_retry_seconds * 2 ** (failures - 1), self.max_retry_seconds)


@dataclass
class _Delivery:
    """One notification (a batch of blob descriptions) waiting to be sent or re-sent."""

    tenant: str
    content_type: str
    items: list[dict]
    due: float
    failures: int = 0
    first_failure: float | None = None
    key: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.tenant, self.content_type)


class WebhookNotifier:
    """Notifies the saved webhooks of new blobs, on a background thread (`start`/`stop`) or one
    `tick()` at a time.
    """

    def __init__(
        self,
        *,
        state: SubscriptionState,
        tenants: tuple[str, ...],
        available: AvailableBlobs,
        describe: ListedItem,
        poster: WebhookValidator,
        now: Callable[[], datetime],
        client_id: str,
        schedule: NotificationSchedule,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._available = available
        self._describe = describe
        self._poster = poster
        self._now = now
        self._client_id = client_id
        self.schedule = schedule
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._watermarks: dict[tuple[str, str], datetime] = {}
        self._queue: list[_Delivery] = []
        self._history: deque[tuple[str, str, dict]] = deque(maxlen=HISTORY_LIMIT)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        for tenant in tenants:  # webhooks saved before a restart over the same state file
            for subscription in state.all_for(tenant.lower()):
                if _active_webhook(subscription):
                    self._watermarks[(tenant.lower(), subscription.content_type)] = now()

    def watch(self, tenant: str, content_type: str) -> None:
        """A webhook was saved (or changed): notify blobs available from now on."""
        with self._lock:
            self._watermarks.setdefault((tenant, content_type), self._now())

    def start(self) -> None:
        """Scan and deliver every `scan_seconds` on a daemon thread until `stop()`."""
        self._thread = threading.Thread(target=self._run, name="o365-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (an attempt in flight is bounded by the poster's timeout)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def tick(self) -> None:
        """One round: queue notifications of newly available blobs, send those that are due."""
        self._scan()
        self._deliver_due()

    def history(self, tenant: str, content_type: str, start: datetime, end: datetime) -> list[dict]:
        """The attempts for blobs with start ≤ contentCreated < end, as
        `subscriptions/notifications` lists them.
        """
        with self._lock:
            entries = list(self._history)
        return [
            item
            for owner, kind, item in entries
            if (owner, kind) == (tenant, content_type)
            and start <= parse_api_time(item["contentCreated"]) < end
        ]

    def pending(self) -> int:
        """Notifications queued or waiting for a retry."""
        with self._lock:
            return len(self._queue)

    def _run(self) -> None:
        while not self._stopped.wait(self.schedule.scan_seconds):
            self.tick()

    def _scan(self) -> None:
        now = self._now()
        with self._lock:
            watched = list(self._watermarks.items())
        for (tenant, content_type), since in watched:
            subscription = self._state.get(tenant, content_type)
            webhook = _active_webhook(subscription)
            if webhook is None:
                self._forget(tenant, content_type)
                continue
            if _expired(webhook, now):
                self._set_webhook_status(tenant, subscription, "expired")
                continue
            if now <= since:
                continue
            blobs = [
                spec
                for spec in self._available(tenant, content_type, since, now + timedelta(0, 0, 1))
                if spec.content_created > since
            ]
            with self._lock:
                if (tenant, content_type) not in self._watermarks:
                    continue
                self._watermarks[(tenant, content_type)] = now
                size, due = self.schedule.batch_size, self._monotonic()
                for first in range(0, len(blobs), size):
                    items = [
                        self._notification_item(tenant, spec)
                        for spec in blobs[first : first + size]
                    ]
                    self._queue.append(_Delivery(tenant, content_type, items, due))

    def _deliver_due(self) -> None:
        moment = self._monotonic()
        with self._lock:
            due = [delivery for delivery in self._queue if delivery.due <= moment]
        for delivery in due:
            webhook = _active_webhook(self._state.get(delivery.tenant, delivery.content_type))
            if webhook is None:
                self._drop(delivery)
                continue
            status = self._poster.post(
                webhook["address"], json.dumps(delivery.items).encode(), _headers(webhook)
            )
            self._remember(delivery, succeeded=status == 200)
            if status == 200:
                self._drop(delivery)
            else:
                self._failed(delivery, self._monotonic())

    def _failed(self, delivery: _Delivery, moment: float) -> None:
        delivery.failures += 1
        if delivery.first_failure is None:
            delivery.first_failure = moment
        if moment - delivery.first_failure >= self.schedule.give_up_seconds:
            subscription = self._state.get(delivery.tenant, delivery.content_type)
            if subscription is not None:
                self._set_webhook_status(delivery.tenant, subscription, "disabled")
            return
        delivery.due = moment + self.schedule.retry_delay(delivery.failures)

    def _set_webhook_status(self, tenant: str, subscription: Subscription, status: str) -> None:
        """Disable or expire the webhook (the subscription itself stays enabled: content can
        still be listed) and stop notifying it.
        """
        webhook = dict(subscription.webhook or {}, status=status)
        self._state.put(tenant, replace(subscription, webhook=webhook))
        self._forget(tenant, subscription.content_type)

    def _forget(self, tenant: str, content_type: str) -> None:
        with self._lock:
            self._watermarks.pop((tenant, content_type), None)
            self._queue = [d for d in self._queue if d.key != (tenant, content_type)]

    def _drop(self, delivery: _Delivery) -> None:
        with self._lock:
            self._queue = [queued for queued in self._queue if queued is not delivery]

    def _remember(self, delivery: _Delivery, *, succeeded: bool) -> None:
        sent = format_api_time(self._now())
        status = "success" if succeeded else "failed"
        with self._lock:
            for item in delivery.items:
                listed = {k: v for k, v in item.items() if k not in ("tenantId", "clientId")}
                entry = listed | {"notificationSent": sent, "notificationStatus": status}
                self._history.append((delivery.tenant, delivery.content_type, entry))

    def _notification_item(self, tenant: str, spec: BlobSpec) -> dict:
        """The reference's notification object: tenantId, clientId, then the listing item."""
        return {"tenantId": tenant, "clientId": self._client_id, **self._describe(spec)}


def _active_webhook(subscription: Subscription | None) -> dict | None:
    """The webhook to notify: the subscription enabled, its webhook saved and enabled."""
    if subscription is None or subscription.status != ENABLED or not subscription.webhook:
        return None
    return subscription.webhook if subscription.webhook.get("status") == "enabled" else None


def _expired(webhook: dict, now: datetime) -> bool:
    expiration = webhook.get("expiration")
    moment = parse_api_time(expiration) if expiration else None
    return moment is not None and moment <= now


def _headers(webhook: dict) -> dict[str, str]:
    headers = {"Content-Type": NOTIFICATION_CONTENT_TYPE}
    if webhook.get("authId"):
        headers["Webhook-AuthID"] = webhook["authId"]
    return headers
