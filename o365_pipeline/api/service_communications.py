"""The Microsoft Graph service communications client for one tenant: service health issues,
health overviews and update messages (`/admin/serviceAnnouncement/…`, the replacement of the
retired Office 365 Service Communications API; "serviceAnnouncement resource type",
https://learn.microsoft.com/graph/api/resources/serviceannouncement).

Plain Python (no Dagster). It signs in as the same app as the Management API client, with a
token for Microsoft Graph of the tenant's cloud (`https://graph.microsoft.com/.default`, or the
national cloud's Graph), and sends through the same transport, so the one retry policy and the
one host guard apply: requests go only to the configured Graph origin (`O365_GRAPH_BASE_URL`,
else the cloud's), and an `@odata.nextLink` elsewhere is refused before anything is sent.
The calls need the application permission `ServiceHealth.Read.All` ("List issues",
https://learn.microsoft.com/graph/api/serviceannouncement-list-issues); without it Graph
answers 403, raised here as `ServiceHealthPermissionError` naming the permission and the fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

from o365_pipeline.api.auth import MsalBearerAuth, VerifyingSession
from o365_pipeline.api.errors import (
    MalformedListingError,
    ManagementApiError,
    PermissionDeniedError,
)
from o365_pipeline.api.odata_paging import odata_pages
from o365_pipeline.api.settings import ClientSettings
from o365_pipeline.api.transport import ApiTransport, RequestStats

SERVICE_HEALTH_ROLE = "ServiceHealth.Read.All"
GRAPH_VERSION = "v1.0"


class ServiceHealthPermissionError(PermissionDeniedError):
    """Microsoft Graph refused the service communications API (403 or 401)."""


class ServiceCommunicationsClient:
    """Calls Microsoft Graph's service communications API for one tenant."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        # The Management API's settings with Graph as the one trusted origin; Graph throttles
        # on its own terms, so the Activity API's shared request budget does not apply.
        graph = replace(settings, api_base_url=settings.graph_base, rate_limit_per_minute=None)
        self._monotonic = monotonic
        self._session = VerifyingSession(settings.verify)
        self._auth = MsalBearerAuth(graph, self._session, scope=settings.cloud_hosts.graph_scope)
        self._transport = ApiTransport(
            graph,
            self._session,
            self._auth,
            sleep=sleep or time.sleep,
            monotonic=monotonic,
            publisher_parameter=False,
            base_setting="O365_GRAPH_BASE_URL",
        )
        self._root = f"{settings.graph_base}/{GRAPH_VERSION}/admin/serviceAnnouncement"

    def __repr__(self) -> str:
        return (
            f"ServiceCommunicationsClient(tenant={self.settings.tenant_id}, "
            f"graph={self.settings.graph_base})"
        )

    @property
    def stats(self) -> RequestStats:
        """Requests, retries, throttled answers and seconds waited so far."""
        return self._transport.stats

    def granted_roles(self) -> tuple[str, ...]:
        """The Microsoft Graph application permissions the current Graph token carries."""
        return self._auth.granted_roles()

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def issues_modified_since(self, since: datetime | None) -> Iterator[dict]:
        """Every `serviceHealthIssue` with lastModifiedDateTime ≥ `since` (all of them for
        None), across every page; each checked to have an `id` and a `lastModifiedDateTime`.
        """
        yield from self._modified_since("issues", since)

    def messages_modified_since(self, since: datetime | None) -> Iterator[dict]:
        """Every `serviceUpdateMessage` with lastModifiedDateTime ≥ `since`, across pages."""
        yield from self._modified_since("messages", since)

    def health_overviews(self) -> list[dict]:
        """The `serviceHealth` of every service the tenant subscribes to."""
        with self._explained():
            return [
                item
                for page in odata_pages(
                    self._transport,
                    f"{self._root}/healthOverviews",
                    max_pages=self.settings.retry.max_pages_per_window,
                    deadline=self._deadline(),
                )
                for item in page
            ]

    def _modified_since(self, collection: str, since: datetime | None) -> Iterator[dict]:
        url = f"{self._root}/{collection}"
        if since is not None:
            # A DateTimeOffset literal is written bare in OData; floored to the second, so
            # the filter never starts after `since`.
            url += "?$filter=" + quote(f"lastModifiedDateTime ge {filter_time(since)}", safe=":")
        with self._explained():
            for page in odata_pages(
                self._transport,
                url,
                max_pages=self.settings.retry.max_pages_per_window,
                deadline=self._deadline(),
            ):
                yield from (_checked(item, collection) for item in page)

    def _deadline(self) -> float:
        return self._monotonic() + self.settings.retry.window_deadline_seconds

    @contextmanager
    def _explained(self) -> Iterator[None]:
        """Name the permission when Graph refuses the call, instead of a bare 403."""
        try:
            yield
        except ManagementApiError as error:
            if error.http_status not in (401, 403):
                raise
            raise self._refusal(error) from None

    def _refusal(self, error: ManagementApiError) -> ServiceHealthPermissionError:
        if error.http_status == 401:
            return ServiceHealthPermissionError(
                code=error.code,
                http_status=401,
                api_message=error.api_message,
                explanation="Microsoft Graph refused the app's token (twice, the second one "
                "fresh): a token for another cloud's Graph, or a Graph host that is not the "
                "tenant's cloud's.",
                fix="Check O365_CLOUD and O365_GRAPH_BASE_URL (unset = the cloud's Graph host).",
            )
        try:
            granted = ", ".join(self.granted_roles()) or "none"
        except ManagementApiError:
            granted = "unknown"
        return ServiceHealthPermissionError(
            code=error.code,
            http_status=403,
            api_message=error.api_message,
            explanation=f"The app's Microsoft Graph token lacks the application permission "
            f"{SERVICE_HEALTH_ROLE} (Graph permissions granted: {granted}), so service health "
            "cannot be read.",
            fix=f"Add the Microsoft Graph application permission {SERVICE_HEALTH_ROLE} to the "
            "app registration, then have an administrator of the tenant grant admin consent "
            "again (o365-pipeline consent-url).",
        )


def parse_graph_time(text: object) -> datetime:
    """A Graph DateTimeOffset (`…Z` or with an offset, up to 7 fractional digits) as aware UTC.

    Raises:
        ValueError: not such a time.

    """
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return moment.astimezone(UTC)


def filter_time(moment: datetime) -> str:
    """`moment` as a bare OData DateTimeOffset literal, floored to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _checked(item: dict, collection: str) -> dict:
    """`item` unchanged when it has what a stored version needs; else the listing fails."""
    problem = None
    if not isinstance(item.get("id"), str) or not item["id"].strip():
        problem = "has no id"
    else:
        try:
            parse_graph_time(item.get("lastModifiedDateTime"))
        except ValueError:
            problem = f"{item['id'][:40]!r} has no readable lastModifiedDateTime"
    if problem:
        raise MalformedListingError(
            code=None,
            http_status=200,
            api_message=f"an item of {collection} {problem}",
            explanation=f"Microsoft Graph listed an item of {collection} that {problem}; "
            "nothing of the listing was kept.",
            fix="Run again later; if it persists, report the item.",
        )
    return item
