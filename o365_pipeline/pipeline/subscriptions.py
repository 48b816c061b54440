"""Make sure every content type is subscribed for a tenant, the way Filebeat and Splunk do:
start what is missing, leave what is enabled alone.

The API answers a repeated start with AF20024 ("already enabled"), which the client already
treats as success, and Microsoft asks for 15 minutes between start calls, so we only call
start for content types the list shows as missing or disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.content_types import ContentType


@dataclass(frozen=True)
class SubscriptionStatus:
    """One row of the subscriptions asset: what the API says after reconciling."""

    tenant: str
    content_type: str
    status: str
    started_now: bool


def ensure_subscriptions(
    client: ManagementApiClient, tenant: str, content_types: Iterable[ContentType]
) -> list[SubscriptionStatus]:
    """Start every content type in `content_types` that is not enabled; return the final states."""
    current = {
        subscription.content_type.lower(): subscription
        for subscription in client.list_subscriptions()
    }
    statuses = []
    for content_type in content_types:
        existing = current.get(content_type.name.lower())
        if existing is not None and existing.enabled:
            statuses.append(SubscriptionStatus(tenant, content_type.name, existing.status, False))
            continue
        started = client.start_subscription(content_type.name)
        statuses.append(SubscriptionStatus(tenant, content_type.name, started.status, True))
    return statuses
