"""The Activity API under `/api/v1.0/{tenant}/activity/feed/`, strict like the real service:
every documented rule answers with its documented code (Office 365 Management Activity API
reference: its operations and "Errors").

Checks run in this order: bearer token, valid and for the resource of the URL tenant's cloud
(401 `Message`), tenant GUID (AF20013), known tenant (AF20011), token tenant = URL tenant
(AF20010), ActivityFeed.Read (401 AF10001), then the operation's own rules.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

from o365_emulator import subscriptions
from o365_emulator.blob_cache import BlobBodyCache
from o365_emulator.clock import EmulatorClock
from o365_emulator.content_ids import parse_content_id
from o365_emulator.dlp_sensitive_types import sensitive_types
from o365_emulator.errors import access_denied, api_error, auditing_off
from o365_emulator.identity import IdentityService, TokenClaims
from o365_emulator.listing import decode_page_token, listed_item, listing_window, next_page_uri
from o365_emulator.notifier import NotificationSchedule, WebhookNotifier
from o365_emulator.responses import API_HEADERS, Reply, json_reply
from o365_emulator.state import ENABLED, Subscription, SubscriptionState
from o365_emulator.synthetic import BlobSpec, SyntheticTenants, hour_of
from o365_emulator.webhooks import WebhookValidator
from o365_emulator.workloads.dlp import without_detections
from o365_pipeline.content_types import UnknownContentTypeError, content_type_named

FEED_PATH = re.compile(r"^/api/v1\.0/(?P<tenant>[^/]+)/activity/feed/(?P<operation>.+)$")
OPERATION_METHODS = {
    "subscriptions/start": "POST",
    "subscriptions/stop": "POST",
    "subscriptions/list": "GET",
    "subscriptions/content": "GET",
    "subscriptions/notifications": "GET",
    "resources/dlpSensitiveTypes": "GET",
}


@dataclass(frozen=True)
class _FeedRequest:
    """One Activity API request, its tenant lower-cased and its query names too."""

    method: str
    tenant: str
    operation: str
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str]


class ActivityApi:
    """Routes and answers Activity API requests for the configured tenants."""

    def __init__(
        self,
        *,
        base_url: str,
        tenants: tuple[str, ...],
        identity: IdentityService,
        content: SyntheticTenants,
        state: SubscriptionState,
        clock: EmulatorClock,
        page_size: int,
        content_retention: timedelta,
        webhooks: WebhookValidator,
        blob_cache_bytes: int = 64 << 20,
        auditing_off: frozenset[str] = frozenset(),
        client_id: str = "",
        notifications: NotificationSchedule | None = None,
    ) -> None:
        self._auditing_off = frozenset(tenant.lower() for tenant in auditing_off)
        self._client_id = client_id
        self.base_url = base_url
        self._bodies = BlobBodyCache(blob_cache_bytes)
        self._tenants = {tenant.lower() for tenant in tenants}
        self._identity = identity
        self._content = content
        self._state = state
        self._clock = clock
        self._page_size = page_size
        self._content_retention = content_retention
        self._webhooks = webhooks
        root = f"{base_url}/api/v1.0/{{tenant}}"
        self.notifier = WebhookNotifier(
            state=state,
            tenants=tenants,
            available=lambda tenant, kind, start, end: self._listable(
                tenant, kind, start, end, self._since(tenant, kind)
            ),
            describe=lambda spec: listed_item(
                spec, root.format(tenant=spec.tenant_id.lower()), content_retention
            ),
            poster=webhooks,
            now=clock.now,
            client_id=client_id,
            schedule=notifications or NotificationSchedule(),
        )

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        headers: Mapping[str, str],
        *,
        origin: str | None = None,
    ) -> Reply:
        """Answer one request whose path matched `FEED_PATH`; `origin` is where the client
        addressed it (`origin.py`), the root of every URL handed back.
        """
        match = FEED_PATH.match(path)
        tenant, operation = match["tenant"], match["operation"]
        claims = self._identity.check(headers.get("Authorization"), tenant=tenant)
        if claims is None:
            return access_denied()
        refusal = self._refusal(tenant, claims)
        if refusal:
            return refusal
        request = _FeedRequest(method, tenant.lower(), operation, query, body, headers)
        return self._route(request, claims, origin or self.base_url)

    def _refusal(self, tenant: str, claims: TokenClaims) -> Reply | None:
        if not _is_guid(tenant):
            return api_error("AF20013", tenant=tenant)
        if tenant.lower() not in self._tenants:
            return api_error("AF20011", tenant=tenant)
        if claims.tenant_id != tenant.lower():
            return api_error("AF20010", tenant=tenant, token_tenant=claims.tenant_id)
        if "ActivityFeed.Read" not in claims.roles:
            return api_error("AF10001", roles=" ".join(claims.roles))
        return None

    def _route(self, request: _FeedRequest, claims: TokenClaims, origin: str) -> Reply:
        tenant, operation, query = request.tenant, request.operation, request.query
        if operation.startswith("audit/"):
            if request.method != "GET":
                return _method_not_allowed(request.method)
            return self._blob(tenant, unquote(operation.removeprefix("audit/")), claims)
        if operation not in OPERATION_METHODS:
            return json_reply(
                404, {"Message": f"No HTTP resource was found that matches {operation}."}
            )
        if request.method != OPERATION_METHODS[operation]:
            return _method_not_allowed(request.method)
        if operation == "subscriptions/list":
            return subscriptions.listed(self._state, tenant)
        if operation == "resources/dlpSensitiveTypes":
            return sensitive_types(request.headers.get("Accept-Language"))
        content_type = _content_type(query)
        if isinstance(content_type, Reply):
            return content_type
        if operation == "subscriptions/start":
            if tenant in self._auditing_off:
                return auditing_off(tenant, content_type, self._client_id)
            reply = subscriptions.start(
                self._state,
                tenant,
                content_type,
                request.body,
                now=self._clock.now(),
                validator=self._webhooks,
            )
            if reply.status == 200:
                self.notifier.watch(tenant, content_type)
            return reply
        if operation == "subscriptions/stop":
            return subscriptions.stop(self._state, tenant, content_type)
        if operation == "subscriptions/notifications":
            return subscriptions.notifications(
                self._state, tenant, content_type, query, self._clock.now(), self.notifier.history
            )
        return self._listing(tenant, content_type, query, origin)

    def _listing(self, tenant: str, content_type: str, query: dict[str, str], origin: str) -> Reply:
        """`subscriptions/content`: one page of the blobs available in the window, with
        `NextPageUri` (exact header name) when more remain; both URLs rooted at `origin`.
        """
        subscription = self._enabled(tenant, content_type)
        if subscription is None:
            return api_error("AF20022")
        window = listing_window(query, self._clock.now())
        if isinstance(window, Reply):
            return window
        blobs = self._listable(
            tenant, content_type, window.start, window.end, _visible_from(subscription)
        )
        offset = 0
        if "nextpage" in query:
            offset = decode_page_token(query["nextpage"])
            if offset is None or offset > len(blobs):
                return api_error("AF20031", next_page=query["nextpage"])
        page, root = blobs[offset : offset + self._page_size], f"{origin}/api/v1.0/{tenant}"
        headers = {}
        if offset + self._page_size < len(blobs):
            headers["NextPageUri"] = next_page_uri(
                root, content_type, window, query.get("publisheridentifier"), offset + len(page)
            )
        items = [listed_item(spec, root, self._content_retention) for spec in page]
        return json_reply(200, items, headers)

    def _blob(self, tenant: str, content_id: str, claims: TokenClaims) -> Reply:
        """A content blob: a JSON array of records; AF20052 malformed id, AF20050 unknown (or
        older than a restart), AF20051 past contentExpiration, AF20022 when its type is not
        subscribed.
        """
        parsed = parse_content_id(content_id)
        if parsed is None:
            return api_error("AF20052", content_id=content_id)
        if parsed.content_type is None:
            return api_error("AF20050", content_id=content_id)
        subscription = self._enabled(tenant, parsed.content_type.name)
        if subscription is None:
            return api_error("AF20022")
        now = self._clock.now()
        spec = next(
            (
                blob
                for blob in self._content.blobs_for_hour(
                    tenant, parsed.content_type, hour_of(parsed.content_created)
                )
                if blob.content_id == content_id and blob.content_created <= now
            ),
            None,
        )
        since = _visible_from(subscription)
        if spec is None or (since is not None and spec.content_created < since):
            # Content from before a restart is out of reach; the reference names no code for
            # it [I: AF20050, as for content that does not exist].
            return api_error("AF20050", content_id=content_id)
        if spec.content_created + self._content_retention <= now:
            return api_error("AF20051", content_id=content_id)
        strip = parsed.content_type.needs_dlp_permission and (
            "ActivityFeed.ReadDlp" not in claims.roles
        )

        def render() -> bytes:
            records = self._content.records(spec)
            if strip:
                records = [without_detections(record) for record in records]
            return json.dumps(records, separators=(",", ":")).encode()

        return Reply(200, self._bodies.body((spec, strip), render), dict(API_HEADERS))

    def ground_truth(
        self, tenant: str, content_type: str, start: datetime, end: datetime
    ) -> frozenset[str]:
        """Distinct record Ids of the blobs listable now with start ≤ contentCreated < end."""
        ids: set[str] = set()
        name = content_type_named(content_type).name
        for spec in self._listable(tenant.lower(), name, start, end, self._since(tenant, name)):
            ids.update(self._content.record_ids(spec))
        return frozenset(ids)

    def served_texts(
        self, tenant: str, content_type: str, start: datetime, end: datetime
    ) -> dict[str, set[str]]:
        """Every record Id listable now in the window, with the JSON text of each of its
        deliveries exactly as a blob carries it (for tests proving nothing was altered).
        """
        texts: dict[str, set[str]] = {}
        name = content_type_named(content_type).name
        for spec in self._listable(tenant.lower(), name, start, end, self._since(tenant, name)):
            for record in self._content.records(spec):
                if isinstance(record.get("Id"), str):  # a replayed export may lack one
                    text = json.dumps(record, separators=(",", ":"))
                    texts.setdefault(record["Id"], set()).add(text)
        return texts

    def reshape_content(self, **changes: float | int | None) -> None:
        """Reshape the synthetic content (fault switches) and forget rendered bodies."""
        reshape = getattr(self._content, "reshape", None)
        if reshape is not None:
            reshape(**changes)
        self._bodies.clear()

    def _enabled(self, tenant: str, content_type: str) -> Subscription | None:
        subscription = self._state.get(tenant, content_type)
        return subscription if subscription and subscription.status == ENABLED else None

    def _since(self, tenant: str, content_type: str) -> datetime | None:
        subscription = self._state.get(tenant.lower(), content_type)
        return _visible_from(subscription) if subscription else None

    def _listable(
        self,
        tenant: str,
        content_type: str,
        start: datetime,
        end: datetime,
        since: datetime | None = None,
    ) -> list[BlobSpec]:
        """Blobs with start ≤ contentCreated < end that exist by now, in contentCreated order;
        none created before `since` (the restart of a stopped subscription).
        """
        if since is not None:
            start = max(start, since)
        now, kind = self._clock.now(), content_type_named(content_type)
        hour, blobs = hour_of(start), []
        while hour < end and hour <= now:
            blobs += [
                spec
                for spec in self._content.blobs_for_hour(tenant, kind, hour)
                if start <= spec.content_created < end and spec.content_created <= now
            ]
            hour += timedelta(hours=1)
        return blobs


def _visible_from(subscription: Subscription) -> datetime | None:
    """When a restarted subscription's content begins (None: all of it is visible)."""
    return datetime.fromisoformat(subscription.content_from) if subscription.content_from else None


def _content_type(query: dict[str, str]) -> str | Reply:
    """The canonical spelling of `contentType` (matched case-insensitively), else AF20001 or
    AF20020.
    """
    name = query.get("contenttype")
    if not name:
        return api_error("AF20001", name="contentType")
    try:
        return content_type_named(name).name
    except UnknownContentTypeError:
        return api_error("AF20020", content_type=name)


def _method_not_allowed(method: str) -> Reply:
    """ASP.NET's 405 answer for a wrong verb."""
    return json_reply(
        405, {"Message": f"The requested resource does not support http method '{method}'."}
    )


def _is_guid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
