"""`subscriptions/start`, `stop`, `list` and `notifications` (Office 365 Management Activity API
reference: "Start a subscription", "Stop a subscription", "List current subscriptions").

Start answers 200 the first time and, like the live service, 400 AF20024 when repeated with
nothing to change; a changed webhook is a property change and answers 200. Stop answers 200 with
an empty body; stopping a never-started type is AF20022. List always shows all three keys, and a
stopped type stays listed as `disabled`.
"""

from __future__ import annotations

import json

from o365_emulator.errors import api_error
from o365_emulator.responses import Reply, empty_reply, json_reply
from o365_emulator.state import DISABLED, ENABLED, Subscription, SubscriptionState


def start(state: SubscriptionState, tenant: str, content_type: str, body: bytes) -> Reply:
    """Enable (or re-enable, or change the webhook of) a subscription."""
    webhook = _webhook(body)
    if isinstance(webhook, Reply):
        return webhook
    current = state.get(tenant, content_type)
    if current and current.status == ENABLED and current.webhook == webhook:
        return api_error("AF20024")
    subscription = Subscription(content_type, ENABLED, webhook)
    state.put(tenant, subscription)
    return json_reply(200, subscription.as_listed())


def stop(state: SubscriptionState, tenant: str, content_type: str) -> Reply:
    """Disable a subscription; its content can no longer be listed or fetched."""
    current = state.get(tenant, content_type)
    if current is None:
        return api_error("AF20022")
    state.put(tenant, Subscription(content_type, DISABLED, current.webhook))
    return empty_reply(200)


def listed(state: SubscriptionState, tenant: str) -> Reply:
    """Every subscription the tenant ever started, enabled or disabled."""
    return json_reply(200, [subscription.as_listed() for subscription in state.all_for(tenant)])


def notifications(state: SubscriptionState, tenant: str, content_type: str) -> Reply:
    """Webhook notifications sent: none, since the emulator sends no webhooks."""
    if state.get(tenant, content_type) is None:
        return api_error("AF20022")
    return json_reply(200, [])


def _webhook(body: bytes) -> dict | None | Reply:
    """The webhook of a start body (empty body or `{}` means none), or AF20021 when its
    address is not HTTPS. The emulator does not POST the validation message: a webhook it
    cannot reach is recorded as given.
    """
    if not body.strip():
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return api_error("AF20002", name="body", expected="json")
    webhook = payload.get("webhook") if isinstance(payload, dict) else None
    if not webhook:
        return None
    address = str(webhook.get("address", ""))
    if not address.lower().startswith("https://"):
        return api_error("AF20021", address=address, reason="The address must begin with HTTPS.")
    return {
        "status": "enabled",
        "address": address,
        "authId": webhook.get("authId", ""),
        "expiration": webhook.get("expiration"),
    }
