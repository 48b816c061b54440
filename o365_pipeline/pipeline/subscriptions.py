"""Make sure every content type is subscribed for a tenant, the way Filebeat and Splunk do:
start what is missing, leave what is enabled alone.

With a webhook (opt-in push notifications), a content type is also started again when its saved
webhook is missing, points elsewhere, carries another authId, or was disabled or expired by the
service after failed notifications ("Start a subscription": start is how a webhook is added,
updated or re-enabled).

The API answers a repeated start with AF20024 ("already enabled"), which the client already
treats as success, and Microsoft asks for 15 minutes between start calls, so we only call
start for content types the list shows as missing or disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import SecretStr

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.content import Subscription
from o365_pipeline.content_types import ContentType


@dataclass(frozen=True)
class WebhookTarget:
    """Where the service should POST notifications, and the authId it sends with each one."""

    address: str
    auth_id: SecretStr
    expiration: str | None = None

    def start_body(self) -> dict:
        """The `webhook` object of a start request (the authId in clear: the API needs it)."""
        return {
            "address": self.address,
            "authId": self.auth_id.get_secret_value(),
            "expiration": self.expiration or "",
        }

    def is_saved_on(self, subscription: Subscription) -> bool:
        """Whether the subscription already notifies this address with this authId."""
        saved = subscription.webhook or {}
        return (
            saved.get("status", "enabled").lower() == "enabled"
            and saved.get("address") == self.address
            and saved.get("authId") == self.auth_id.get_secret_value()
        )


@dataclass(frozen=True)
class SubscriptionStatus:
    """One row of the subscriptions asset: what the API says after reconciling."""

    tenant: str
    content_type: str
    status: str
    started_now: bool


def ensure_subscriptions(
    client: ManagementApiClient,
    tenant: str,
    content_types: Iterable[ContentType],
    webhook: WebhookTarget | None = None,
) -> list[SubscriptionStatus]:
    """Start every content type in `content_types` that is not enabled (or, with `webhook`,
    not notifying it); return the final states.
    """
    current = {
        subscription.content_type.lower(): subscription
        for subscription in client.list_subscriptions()
    }
    statuses = []
    for content_type in content_types:
        existing = current.get(content_type.name.lower())
        if existing is not None and existing.enabled:
            if webhook is None or webhook.is_saved_on(existing):
                statuses.append(
                    SubscriptionStatus(tenant, content_type.name, existing.status, False)
                )
                continue
        body = webhook.start_body() if webhook else None
        started = client.start_subscription(content_type.name, webhook=body)
        statuses.append(SubscriptionStatus(tenant, content_type.name, started.status, True))
    return statuses
