"""Faults the emulator injects into Activity API requests, switchable while it runs.

A fault rule names a kind, the requests it targets (blob fetches, listing pages, or any API
call), how many requests it may hit (`count`, none = no limit) and the chance it hits a
matching one (`probability`, seeded, so a run is repeatable). Rules come from the CLI
(`--fault kind:key=value,...`), from the control endpoint (`POST /_emulator/faults`), or from
tests in-process. Each kind either replaces the real answer (throttling, 5xx, a missing blob,
an expired token), alters it (a truncated or garbled body, a repeated or re-cased
`NextPageUri`, a late blob), or misbehaves on the wire (a reset, a slow answer). Token requests
are never faulted here: they are Entra's, not the Activity API's.

Two switches reshape the tenant's content instead of single answers, so the ground truth moves
with them: `duplicates` (share of records re-delivered from earlier blobs) and `huge_blob`
(records added to the first blob of every hour). They are applied by the server.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from o365_emulator.errors import api_error
from o365_emulator.fault_rules import CONTENT_SWITCHES, FaultRule, FaultSpecError
from o365_emulator.responses import Reply

NO_PUBLISHER = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class ApiRequest:
    """What a fault may look at: the operation, the caller's PublisherIdentifier, the URL."""

    method: str
    operation: str
    publisher_id: str | None
    url: str = ""

    @property
    def target(self) -> str:
        """`blob`, `listing` or `other`."""
        if self.operation.startswith("audit/"):
            return "blob"
        if self.operation == "subscriptions/content":
            return "listing"
        return "other"


RealAnswer = Callable[[], Reply]


# The service's internal operation names, as AF429 messages show them (observed behaviour, not
# in the public reference).
_METHOD_NAMES = {
    "subscriptions/start": "StartSubscription",
    "subscriptions/stop": "StopSubscription",
    "subscriptions/list": "ListSubscriptions",
    "subscriptions/content": "ListContent",
    "subscriptions/notifications": "ListNotifications",
    "resources/dlpSensitiveTypes": "GetDlpSensitiveTypes",
}


def throttled(request: ApiRequest, status: int = 429, retry_after: int | str | None = 1) -> Reply:
    """The AF429 answer, naming the method and the publisher like the live text."""
    method = "GetBlob" if request.target == "blob" else _METHOD_NAMES.get(request.operation, "?")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return api_error(
        "AF429",
        status=status,
        headers=headers,
        method=method,
        publisher_id=request.publisher_id or NO_PUBLISHER,
    )


class FaultPlan:
    """The switched-on rules, consulted by every Activity API request (thread-safe)."""

    def __init__(self, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[list] = []  # [rule, remaining, still to let through]
        self._random = random.Random(seed)
        self._late_windows: set[tuple[str, str, str]] = set()
        self.hits: dict[str, int] = {}

    # -- switching --------------------------------------------------------------------------

    def add(self, *rules: FaultRule) -> None:
        """Switch rules on (request faults only; content switches go through the server)."""
        with self._lock:
            for rule in rules:
                if rule.kind in CONTENT_SWITCHES:
                    raise FaultSpecError(f"{rule.kind} reshapes content: use Emulator.add_faults")
                self._rules.append([rule, rule.count, rule.after])

    def throttle_next(
        self, count: int, retry_after_seconds: int | None = 1, status: int = 429
    ) -> None:
        """Answer the next `count` API requests with AF429 (429, or 403 as documented)."""
        options = {"status": status, "retry_after": retry_after_seconds}
        self.add(FaultRule("throttle", "api", count, 1.0, options))

    def clear(self) -> None:
        """Switch every request fault off."""
        with self._lock:
            self._rules.clear()
            self._late_windows.clear()

    def active(self) -> list[dict]:
        """The rules still switched on, with what is left of their counts."""
        with self._lock:
            return [{**rule.describe(), "remaining": left} for rule, left, _ in self._rules]

    # -- answering --------------------------------------------------------------------------

    def answer(
        self,
        request: ApiRequest,
        real: RealAnswer,
        expire_token: Callable[[], None] = lambda: None,
    ) -> Reply:
        """The reply for `request`: the real one, unless a switched-on rule hits it.
        `expire_token` revokes the token the request carries (for `expire_token`).
        """
        rule = self._hit(request)
        if rule is not None:
            self._count_hit(rule.kind)
            return self._apply(rule, request, real, expire_token)
        reply = real()
        last_page = reply.status == 200 and "NextPageUri" not in reply.headers
        if request.target == "listing" and last_page and self._take_late(request):
            self._count_hit("late_blob")
            return _hide_newest(reply)
        return reply

    def _count_hit(self, kind: str) -> None:
        with self._lock:
            self.hits[kind] = self.hits.get(kind, 0) + 1

    def _hit(self, request: ApiRequest) -> FaultRule | None:
        with self._lock:
            for entry in self._rules:
                rule, left, waiting = entry
                if rule.target != "api" and rule.target != request.target:
                    continue
                if rule.kind == "late_blob":
                    continue  # applied to the real answer's last page, see `_take_late`
                if waiting > 0:
                    entry[2] = waiting - 1
                    continue
                if rule.probability < 1 and self._random.random() >= rule.probability:
                    continue
                if left is not None:
                    entry[1] = left - 1
                    if entry[1] <= 0:
                        self._rules.remove(entry)
                return rule
        return None

    def _take_late(self, request: ApiRequest) -> bool:
        """Whether a `late_blob` rule hides a blob from this last page: only in the first
        listing of each window, so a later listing of the same window shows it.
        """
        with self._lock:
            entry = next((e for e in self._rules if e[0].kind == "late_blob"), None)
            key = _window_key(request.url)
            if entry is None or key in self._late_windows:
                return False
            if entry[0].probability < 1 and self._random.random() >= entry[0].probability:
                return False
            self._late_windows.add(key)
            if entry[1] is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    self._rules.remove(entry)
            return True

    def _apply(
        self,
        rule: FaultRule,
        request: ApiRequest,
        real: RealAnswer,
        expire_token: Callable[[], None],
    ) -> Reply:
        options = rule.options
        if rule.kind == "throttle":
            return throttled(request, options["status"], options["retry_after"])
        if rule.kind == "server_error":
            after = options["retry_after"]
            headers = {"Retry-After": str(after)} if after else None
            return api_error("AF50000", status=options["status"], headers=headers)
        if rule.kind == "reset":
            return Reply(0, reset=True)
        if rule.kind == "missing_blob":
            return api_error(
                "AF20050", status=404, content_id=request.operation.removeprefix("audit/")
            )
        if rule.kind == "redirect":
            return Reply(
                options["status"],
                body=b'[{"Id": "planted-by-the-other-host"}]',
                headers={"Location": options["location"], "Content-Type": "application/json"},
            )
        if rule.kind == "expire_token":
            expire_token()
            return real()
        reply = real()
        if reply.status != 200:
            return reply
        if rule.kind == "slow":
            return replace(reply, delay_seconds=options["seconds"])
        if rule.kind == "trickle":
            return replace(
                reply,
                seconds_per_byte=options["seconds_per_byte"],
                trickle_headers=bool(options["headers"]),
            )
        if rule.kind == "endless_pages":
            return _with_fresh_next_page(reply, request)
        if rule.kind == "truncate":
            keep = int(len(reply.body) * options["keep"])
            if options["honest"]:
                comma = reply.body.rfind(b",", 0, keep)
                return replace(reply, body=reply.body[: comma + 1 if comma >= 0 else keep])
            return replace(reply, cut_after_bytes=keep)
        if rule.kind == "invalid_json":
            return replace(reply, body=reply.body[: max(1, len(reply.body) // 2)] + b"\x00}")
        if rule.kind == "foreign_element":
            rest = reply.body.lstrip()[1:].lstrip()
            separator = b"," if rest[:1] != b"]" else b""
            return replace(reply, body=b'["not a record"' + separator + rest)
        if rule.kind in ("repeat_page", "recase_next_page"):
            return _with_next_page(reply, request, recase=rule.kind == "recase_next_page")
        raise FaultSpecError(f"fault {rule.kind} has no behaviour")  # pragma: no cover


def _with_next_page(reply: Reply, request: ApiRequest, *, recase: bool) -> Reply:
    """Point `NextPageUri` back at this very page, or re-case its query names."""
    next_uri = reply.headers.get("NextPageUri")
    if not next_uri:
        return reply
    if recase:
        parts = urlsplit(next_uri)
        names = parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(f"{_recased(name)}={value}" for name, value in names)
        next_uri = urlunsplit(parts._replace(query=query))
    else:
        next_uri = request.url
    return replace(reply, headers={**reply.headers, "NextPageUri": next_uri})


def _with_fresh_next_page(reply: Reply, request: ApiRequest) -> Reply:
    """Name a next page that was never named before: this page's URL with a new `hop`."""
    parts = urlsplit(request.url)
    names = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "hop"]
    hop = next((int(v) for k, v in parse_qsl(parts.query) if k == "hop" and v.isdigit()), 0)
    query = "&".join(f"{name}={value}" for name, value in [*names, ("hop", str(hop + 1))])
    return replace(
        reply, headers={**reply.headers, "NextPageUri": urlunsplit(parts._replace(query=query))}
    )


def _recased(name: str) -> str:
    """`startTime` → `STARTTIME`, `nextPage` → `nextpage`, alternating so every name changes."""
    return name.upper() if name[:1].islower() else name.lower()


def _hide_newest(reply: Reply) -> Reply:
    """Drop the newest blob of the window's last page (it will show up in a later listing)."""
    if "NextPageUri" in reply.headers:
        return reply
    items = json.loads(reply.body)
    if not items:
        return reply
    return replace(reply, body=json.dumps(items[:-1], separators=(",", ":")).encode())


def _window_key(url: str) -> tuple[str, str, str]:
    query = {name.lower(): value for name, value in parse_qsl(urlsplit(url).query)}
    path = urlsplit(url).path
    return (path, query.get("contenttype", ""), f"{query.get('starttime')}|{query.get('endtime')}")
