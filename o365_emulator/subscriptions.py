"""`subscriptions/start`, `stop`, `list` and `notifications` (Office 365 Management Activity API
reference: "Start a subscription", "Webhook validation", "Stop a subscription", "List current
subscriptions", "List notifications",
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference).

Start answers 200 the first time and, like the live service, 400 AF20024 when repeated with
nothing to change; a changed webhook is a property change and answers 200. A webhook is saved
only once its address answered the validation POST with 200 (`webhooks.py`). Stop answers 200
with an empty body; stopping a never-started type is AF20022. "If the subscription is later
restarted, you will have access to new content from that point forward": a start after a stop
records when, and older content is no longer listed or served. List always shows all three
keys, and a stopped type stays listed as `disabled`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from o365_emulator.errors import api_error
from o365_emulator.listing import listing_window
from o365_emulator.responses import Reply, empty_reply, json_reply
from o365_emulator.state import DISABLED, ENABLED, Subscription, SubscriptionState
from o365_emulator.webhooks import WebhookValidator, requested_webhook


def start(
    state: SubscriptionState,
    tenant: str,
    content_type: str,
    body: bytes,
    *,
    now: datetime,
    validator: WebhookValidator,
) -> Reply:
    """Enable (or re-enable, or change the webhook of) a subscription."""
    requested = requested_webhook(body, now)
    if isinstance(requested, Reply):
        return requested
    webhook = requested.as_saved() if requested else None
    current = state.get(tenant, content_type)
    if current and current.status == ENABLED and current.webhook == webhook:
        return api_error("AF20024")
    if requested:
        refusal = validator.refusal(requested)
        if refusal:  # the subscription stays as it was
            return refusal
    content_from = current.content_from if current else None
    if current and current.status == DISABLED:
        content_from = now.astimezone(UTC).isoformat()
    subscription = Subscription(content_type, ENABLED, webhook, content_from)
    state.put(tenant, subscription)
    return json_reply(200, subscription.as_listed())


def stop(state: SubscriptionState, tenant: str, content_type: str) -> Reply:
    """Disable a subscription; its content can no longer be listed or fetched."""
    current = state.get(tenant, content_type)
    if current is None:
        return api_error("AF20022")
    state.put(tenant, Subscription(content_type, DISABLED, current.webhook, current.content_from))
    return empty_reply(200)


def listed(state: SubscriptionState, tenant: str) -> Reply:
    """Every subscription the tenant ever started, enabled or disabled."""
    return json_reply(200, [subscription.as_listed() for subscription in state.all_for(tenant)])


def notifications(
    state: SubscriptionState,
    tenant: str,
    content_type: str,
    query: dict[str, str],
    now: datetime,
    history: Callable[[str, str, datetime, datetime], list[dict]],
) -> Reply:
    """The notification attempts for content created in the window (`notifier.py`), under the
    listing's window rules (startTime and endTime both or neither, at most 24 h apart, start at
    most 7 days back: AF20055). "We return an error if the subscription status is disabled": a
    stopped or never-started type is AF20022, as for the listing.
    """
    current = state.get(tenant, content_type)
    if current is None or current.status != ENABLED:
        return api_error("AF20022")
    window = listing_window(query, now)
    if isinstance(window, Reply):
        return window
    return json_reply(200, history(tenant, content_type, window.start, window.end))
