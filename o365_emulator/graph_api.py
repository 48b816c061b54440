"""Microsoft Graph's service communications API on the emulator's origin, under `/v1.0`:
`GET /admin/serviceAnnouncement/healthOverviews`, `/issues` (and `/issues/{id}`) and
`/messages` ("serviceAnnouncement resource type",
https://learn.microsoft.com/graph/api/resources/serviceannouncement).

Rules enforced as the service does:
- A bearer token for Microsoft Graph of the tenant's cloud, else 401 `InvalidAuthenticationToken`
  (the live texts "Access token is empty." / "Access token validation failure. Invalid
  audience."); the tenant is the token's, Graph URLs carry none.
- The application permission `ServiceHealth.Read.All` ("List issues", Permissions,
  https://learn.microsoft.com/graph/api/serviceannouncement-list-issues), else 403: a token
  without any role gets `AccessDenied` "Either scp or roles claim need to be present in the
  token." and one with other roles `Forbidden` (both as seen live).
- Collections are paged: at most `page_size` items (Graph's default page size is 100) or fewer
  when the client sends `Prefer: odata.maxpagesize=N` (at most 1000), with `@odata.nextLink`
  naming the next page in full ("Paging Microsoft Graph data in your app",
  https://learn.microsoft.com/graph/paging). The link carries an opaque `$skiptoken` that pins
  the moment of the first page, so a listing stays consistent while issues keep changing.
- `$filter` as in `odata_filter.py`; errors in Graph's shape `{"error": {"code", "message",
  "innerError": {"date", "request-id", "client-request-id"}}}` ("Microsoft Graph error
  responses and resource types", https://learn.microsoft.com/graph/errors).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from o365_emulator.clock import EmulatorClock
from o365_emulator.identity import GRAPH_ROLES, IdentityService
from o365_emulator.odata_filter import FilterError, parse_date_time, parse_filter
from o365_emulator.responses import Reply, json_reply
from o365_emulator.service_health import ServiceHealthTimeline

GRAPH_PREFIX = "/v1.0/"
ROUTE = re.compile(
    r"^/v1\.0/admin/serviceAnnouncement/(?P<collection>healthOverviews|issues|messages)"
    r"(?:/(?P<key>[^/]+))?$",
    re.IGNORECASE,
)
SERVICE_HEALTH_ROLE = GRAPH_ROLES[0]
MAX_PAGE_SIZE = 1000
_COLLECTIONS = {"healthoverviews": "healthOverviews", "issues": "issues", "messages": "messages"}
_HEADERS = {"Content-Type": "application/json;odata.metadata=minimal;odata.streaming=true"}


class ServiceAnnouncementApi:
    """Answers the three collections for the tenant of the caller's token."""

    def __init__(
        self,
        *,
        identity: IdentityService,
        timeline: ServiceHealthTimeline,
        clock: EmulatorClock,
        page_size: int = 100,
    ) -> None:
        self._identity = identity
        self._timeline = timeline
        self._clock = clock
        self._page_size = page_size
        self._next_link_origin: str | None = None

    def hand_out_next_links_on(self, origin: str | None) -> None:
        """Not something Microsoft does: name the next page on another origin (a hostile or
        misconfigured host in between), so a test can check the client does not follow it.
        """
        self._next_link_origin = origin

    def handle(self, method: str, path: str, query: dict[str, str], headers, origin: str) -> Reply:
        """One Graph request (`query` with lowercased names, as the server parses it)."""
        match = ROUTE.match(path)
        if match is None:
            segment = path.removeprefix(GRAPH_PREFIX).split("/")[-1]
            return graph_error(
                400, "BadRequest", f"Resource not found for the segment '{segment}'."
            )
        if method != "GET":
            return graph_error(
                405, "BadRequest", "Specified HTTP method is not allowed for the request uri."
            )
        authorization = headers.get("Authorization")
        claims = self._identity.check_graph(authorization)
        if claims is None:
            empty = not (authorization or "").partition(" ")[2].strip()
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token is empty."
                if empty
                else "Access token validation failure. Invalid audience.",
            )
        if not claims.roles:
            return graph_error(
                403, "AccessDenied", "Either scp or roles claim need to be present in the token."
            )
        if SERVICE_HEALTH_ROLE not in claims.roles:
            return graph_error(
                403,
                "Forbidden",
                f"Missing role permissions on the request. API requires one of "
                f"'{SERVICE_HEALTH_ROLE}'. Roles on the request '{','.join(claims.roles)}'.",
            )
        collection = _COLLECTIONS[match["collection"].lower()]
        return self._answer(collection, match["key"], claims.tenant_id, query, headers, origin)

    def _answer(
        self,
        collection: str,
        key: str | None,
        tenant: str,
        query: dict[str, str],
        headers,
        origin: str,
    ) -> Reply:
        snapshot = _snapshot(query.get("$skiptoken"), self._clock.now())
        if snapshot is None:
            return graph_error(400, "BadRequest", "The $skiptoken is invalid.")
        at, skip = snapshot
        items = self._items(collection, tenant, at)
        context = f"{origin}/v1.0/$metadata#admin/serviceAnnouncement/{collection}"
        if key is not None:
            wanted = unquote(key)
            found = [item for item in items if wanted in (item.get("id"), item.get("service"))]
            if not found:
                return graph_error(
                    404, "NotFound", f"The requested {collection} item was not found."
                )
            return json_reply(200, {"@odata.context": f"{context}/$entity", **found[0]}, _HEADERS)
        if "$filter" in query:
            try:
                keep = parse_filter(query["$filter"])
            except FilterError as error:
                return graph_error(400, "BadRequest", str(error))
            items = [item for item in items if keep(item)]
        size = min(_max_page_size(headers) or self._page_size, self._page_size, MAX_PAGE_SIZE)
        page = items[skip : skip + size]
        body: dict = {"@odata.context": context}
        if skip + size < len(items):
            body["@odata.nextLink"] = self._next_link(origin, collection, query, at, skip + size)
        body["value"] = page
        return json_reply(200, body, _HEADERS)

    def _items(self, collection: str, tenant: str, at: datetime) -> list[dict]:
        if collection == "issues":
            return [issue.as_resource(at) for issue in self._timeline.issues_at(tenant, at)]
        if collection == "messages":
            return self._timeline.messages_at(tenant, at)
        return self._timeline.overviews_at(tenant, at)

    def _next_link(
        self, origin: str, collection: str, query: dict[str, str], at: datetime, skip: int
    ) -> str:
        token = base64.urlsafe_b64encode(
            json.dumps({"at": at.isoformat(), "skip": skip}).encode()
        ).decode()
        kept = [
            f"{name}={quote(value, safe='')}" for name, value in query.items() if name == "$filter"
        ]
        query_text = "&".join([*kept, f"$skiptoken={quote(token, safe='')}"])
        base = self._next_link_origin or origin
        return f"{base}/v1.0/admin/serviceAnnouncement/{collection}?{query_text}"


def graph_error(status: int, code: str, message: str) -> Reply:
    """An error in Graph's shape, with the `innerError` ids Graph adds."""
    request_id = str(uuid.uuid4())
    return json_reply(
        status,
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        },
        _HEADERS,
    )


def _snapshot(token: str | None, now: datetime) -> tuple[datetime, int] | None:
    """(moment, items to skip) from a `$skiptoken`; (now, 0) without one; None when it is
    not one this emulator handed out.
    """
    if token is None:
        return now, 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        at = parse_date_time(decoded["at"])
        skip = int(decoded["skip"])
    except (ValueError, KeyError, TypeError):
        return None
    return (at, skip) if at is not None and skip >= 0 else None


def _max_page_size(headers) -> int | None:
    """N of `Prefer: odata.maxpagesize=N`, when the client sent one."""
    match = re.search(r"odata\.maxpagesize=(\d+)", headers.get("Prefer") or "")
    return int(match[1]) if match and int(match[1]) > 0 else None
