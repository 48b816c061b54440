"""The Activity API under `/api/v1.0/{tenant}/activity/feed/`, strict like the real service:
every documented validation answers with its documented code (api-spec-detail §4, §6).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from o365_pipeline.content_types import CONTENT_TYPES, UnknownContentTypeError, content_type_named
from o365_pipeline.emulator.identity import IdentityService
from o365_pipeline.emulator.responses import Reply, api_error, json_reply, unauthorized
from o365_pipeline.emulator.state import SubscriptionState
from o365_pipeline.emulator.synthetic import BlobSpec, SyntheticTenants, hour_of

FEED_PATH = re.compile(r"^/api/v1\.0/(?P<tenant>[^/]+)/activity/feed/(?P<operation>.+)$")
MAX_SPAN = timedelta(hours=24)
RETENTION = timedelta(days=7)
DLP_SENSITIVE_TYPES = [
    {"id": "50842eb7-edc8-4019-85dd-5a5c1f2bb085", "name": "CreditCardNumber"},
    {"id": "0e9b3178-9678-47dd-a509-37222ca96b42", "name": "EUDebitCardNumber"},
    {"id": "a44669fe-0d48-453d-a9b1-2cc83f2cba77", "name": "U.S. Social Security Number (SSN)"},
]


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
        clock,
        page_size: int,
        content_retention: timedelta,
    ) -> None:
        self.base_url = base_url
        self._tenants = {tenant.lower() for tenant in tenants}
        self._identity = identity
        self._content = content
        self._state = state
        self._clock = clock
        self._page_size = page_size
        self._content_retention = content_retention

    def handle(
        self, method: str, path: str, query: dict[str, str], body: bytes, authorization: str | None
    ) -> Reply:
        """Answer one request whose path matched `FEED_PATH`."""
        match = FEED_PATH.match(path)
        tenant, operation = match["tenant"], match["operation"]
        claims = self._identity.check(authorization)
        if claims is None:
            return unauthorized()
        if not _is_guid(tenant):
            return api_error("AF20013", f"The tenant ID in the URL ({tenant}) is not a valid GUID.")
        tenant = tenant.lower()
        if claims.tenant_id != tenant:
            return api_error(
                "AF20010",
                f"The tenant ID passed in the URL ({tenant}) does not "
                f"match the tenant ID passed in the access token "
                f"({claims.tenant_id}).",
            )
        if tenant not in self._tenants:
            return api_error(
                "AF20011",
                f"Specified tenant ID ({tenant}) does not exist in the system or has been deleted.",
            )
        if "ActivityFeed.Read" not in claims.roles:
            return api_error(
                "AF10001",
                f"The permission set ({' '.join(claims.roles)}) sent in "
                "the request does not include the expected permission.",
                status=401,
            )
        return self._route(method, tenant, operation, query, body)

    def _route(
        self, method: str, tenant: str, operation: str, query: dict[str, str], body: bytes
    ) -> Reply:
        routes = {
            ("POST", "subscriptions/start"): self._start,
            ("POST", "subscriptions/stop"): self._stop,
            ("GET", "subscriptions/list"): lambda t, q, b: self._list(t),
            ("GET", "subscriptions/content"): self._content_listing,
            ("GET", "subscriptions/notifications"): self._notifications,
            ("GET", "resources/dlpSensitiveTypes"): lambda t, q, b: json_reply(
                200, DLP_SENSITIVE_TYPES
            ),
        }
        if operation.startswith("audit/") and method == "GET":
            return self._blob(tenant, operation[len("audit/") :])
        handler = routes.get((method, operation))
        if handler is None:
            return api_error("AF20001", f"No operation {method} {operation}.", status=404)
        return handler(tenant, query, body)

    def _content_type(self, query: dict[str, str]) -> tuple[str | None, Reply | None]:
        name = query.get("contenttype")
        if not name:
            return None, api_error("AF20001", "Missing parameter: contentType.")
        try:
            return content_type_named(name).name, None
        except UnknownContentTypeError:
            return None, api_error("AF20020", f"The content type {name} is not valid.")

    def _start(self, tenant: str, query: dict[str, str], body: bytes) -> Reply:
        content_type, error = self._content_type(query)
        if error:
            return error
        webhook = _webhook(body)
        if isinstance(webhook, Reply):
            return webhook
        if self._state.status(tenant, content_type) == "enabled" and webhook is None:
            # Live behaviour (undocumented): a repeat start with nothing to change.
            return api_error("AF20024", "The subscription is already enabled. No property change.")
        self._state.set_status(tenant, content_type, "enabled")
        return json_reply(
            200, {"contentType": content_type, "status": "enabled", "webhook": webhook}
        )

    def _stop(self, tenant: str, query: dict[str, str], body: bytes) -> Reply:
        content_type, error = self._content_type(query)
        if error:
            return error
        if self._state.status(tenant, content_type) != "enabled":
            return api_error(
                "AF20022", f"No subscription found for the specified content type: {content_type}."
            )
        self._state.set_status(tenant, content_type, "disabled")
        return Reply(200, b"", {"Content-Length": "0"})

    def _list(self, tenant: str) -> Reply:
        return json_reply(
            200,
            [
                {"contentType": name, "status": status, "webhook": None}
                for name, status in sorted(self._state.all_for(tenant).items())
            ],
        )

    def _content_listing(self, tenant: str, query: dict[str, str], body: bytes) -> Reply:
        content_type, error = self._content_type(query)
        if error:
            return error
        if self._state.status(tenant, content_type) != "enabled":
            return api_error(
                "AF20022", f"No subscription found for the specified content type: {content_type}."
            )
        window = self._window(query)
        if isinstance(window, Reply):
            return window
        start, end = window
        blobs = self._listable(tenant, content_type, start, end)
        offset = 0
        if "nextpage" in query:
            offset = _decode_page(query["nextpage"])
            if offset is None or offset > len(blobs):
                return api_error("AF20031", f"Invalid nextPage Input: {query['nextpage']}.")
        page = blobs[offset : offset + self._page_size]
        headers = {}
        if offset + self._page_size < len(blobs):
            headers["NextPageUri"] = self._next_page_uri(
                tenant, content_type, start, end, query, offset + self._page_size
            )
        return json_reply(200, [self._item(tenant, spec) for spec in page], headers)

    def _notifications(self, tenant: str, query: dict[str, str], body: bytes) -> Reply:
        content_type, error = self._content_type(query)
        if error:
            return error
        if self._state.status(tenant, content_type) != "enabled":
            return api_error(
                "AF20022", f"No subscription found for the specified content type: {content_type}."
            )
        return json_reply(200, [])

    def _blob(self, tenant: str, raw_id: str) -> Reply:
        content_id = unquote(raw_id)
        spec = self._spec_for(tenant, content_id)
        if isinstance(spec, Reply):
            return spec
        if spec.content_created + self._content_retention <= self._clock.now():
            return api_error(
                "AF20051",
                f"Content requested with the key {content_id} has "
                "already expired. Content older than 7 days cannot be "
                "retrieved.",
            )
        records = self._content.records(spec)
        return json_reply(200, records)

    def ground_truth(
        self, tenant: str, content_type: str, start: datetime, end: datetime
    ) -> frozenset[str]:
        """Distinct record Ids of the blobs listable now with start ≤ contentCreated < end."""
        ids: set[str] = set()
        for spec in self._listable(
            tenant.lower(), content_type_named(content_type).name, start, end
        ):
            ids.update(record["Id"] for record in self._content.records(spec))
        return frozenset(ids)

    def _listable(
        self, tenant: str, content_type: str, start: datetime, end: datetime
    ) -> list[BlobSpec]:
        now = self._clock.now()
        hour, blobs = hour_of(start), []
        while hour < end:
            blobs += [
                spec
                for spec in self._content.blobs_for_hour(tenant, content_type, hour)
                if start <= spec.content_created < end and spec.content_created <= now
            ]
            hour += timedelta(hours=1)
        return blobs

    def _window(self, query: dict[str, str]) -> tuple[datetime, datetime] | Reply:
        raw_start, raw_end = query.get("starttime"), query.get("endtime")
        now = self._clock.now()
        if raw_start is None and raw_end is None:
            return now - MAX_SPAN, now
        if raw_start is None or raw_end is None:
            return api_error(
                "AF20055", "StartTime and EndTime must both be specified (or both omitted)."
            )
        start, end = _parse_time(raw_start), _parse_time(raw_end)
        for name, value, raw in (("startTime", start, raw_start), ("endTime", end, raw_end)):
            if value is None:
                return api_error(
                    "AF20002",
                    f"Invalid parameter type: {name}. Expected type: datetime. Got {raw!r}.",
                )
        if end <= start:
            return api_error("AF20055", "StartTime must be prior to EndTime.")
        if end - start > MAX_SPAN:
            return api_error(
                "AF20055", "StartTime and EndTime must not be more than 24 hours apart."
            )
        if start < now - RETENTION:
            return api_error("AF20055", "StartTime must not be more than 7 days in the past.")
        return start, end

    def _item(self, tenant: str, spec: BlobSpec) -> dict:
        content_id = spec.content_id()
        return {
            "contentUri": f"{self.base_url}/api/v1.0/{tenant}/activity/feed/audit/{content_id}",
            "contentId": content_id,
            "contentType": spec.content_type,
            "contentCreated": _api_time(spec.content_created),
            "contentExpiration": _api_time(spec.content_created + self._content_retention),
        }

    def _next_page_uri(
        self,
        tenant: str,
        content_type: str,
        start: datetime,
        end: datetime,
        query: dict[str, str],
        offset: int,
    ) -> str:
        parts = [
            f"contentType={content_type}",
            f"startTime={_api_time(start)}",
            f"endTime={_api_time(end)}",
        ]
        if "publisheridentifier" in query:
            parts.append(f"PublisherIdentifier={quote(query['publisheridentifier'])}")
        parts.append(f"nextPage={_encode_page(offset)}")
        return f"{self.base_url}/api/v1.0/{tenant}/activity/feed/subscriptions/content?" + "&".join(
            parts
        )

    def _spec_for(self, tenant: str, content_id: str) -> BlobSpec | Reply:
        parts = content_id.split("$")
        if (
            len(parts) != 5
            or not re.fullmatch(r"\d{23}", parts[1] or "")
            or not re.fullmatch(r"na\d{4}", parts[4])
        ):
            return api_error("AF20052", f"Content ID {content_id} in the URL is invalid.")
        by_slug = {content_type.wire_slug: content_type.name for content_type in CONTENT_TYPES}
        content_type = by_slug.get(parts[2])
        created = datetime.strptime(parts[1][:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        missing = api_error("AF20050", f"The specified content ({content_id}) does not exist.")
        if content_type is None:
            return missing
        for spec in self._content.blobs_for_hour(tenant, content_type, hour_of(created)):
            if spec.content_id() == content_id and spec.content_created <= self._clock.now():
                return spec
        return missing


def _webhook(body: bytes) -> dict | None | Reply:
    if not body.strip():
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return api_error("AF20002", "Invalid parameter type: body. Expected type: json.")
    webhook = payload.get("webhook") if isinstance(payload, dict) else None
    if not webhook:
        return None
    address = str(webhook.get("address", ""))
    if not address.lower().startswith("https://"):
        return api_error(
            "AF20021",
            "The webhook endpoint {" + address + "} could not be "
            "validated. The address must begin with HTTPS.",
        )
    return {
        "status": "enabled",
        "address": address,
        "authId": webhook.get("authId", ""),
        "expiration": webhook.get("expiration"),
    }


def _parse_time(text: str) -> datetime | None:
    value = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?Z?", value):
        return None
    value = value.rstrip("Z")
    if "." in value:
        head, fraction = value.split(".")
        value = f"{head}.{fraction[:6]:0<6}"
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


def _api_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _encode_page(offset: int) -> str:
    return f"{offset:010d}R{offset * 7919 % 100000:05d}"


def _decode_page(token: str) -> int | None:
    match = re.fullmatch(r"(\d{10})R(\d{5})", token)
    if not match or int(match[1]) * 7919 % 100000 != int(match[2]):
        return None
    return int(match[1])


def _is_guid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
