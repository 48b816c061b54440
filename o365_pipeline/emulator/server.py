"""The emulator's HTTPS server: login paths and API paths on one loopback port.

`start_emulator()` runs it on a background thread (tests, the demo, the Dagster resource);
`command.py` runs it in the foreground for `o365-pipeline emulator`.
"""

from __future__ import annotations

import email.utils
import json
import re
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from o365_pipeline.content_types import UnknownContentTypeError, content_type_named
from o365_pipeline.emulator.activity import FEED_PATH, ActivityApi
from o365_pipeline.emulator.budget import RequestBudget
from o365_pipeline.emulator.clock import EmulatorClock
from o365_pipeline.emulator.errors import access_denied, api_error
from o365_pipeline.emulator.faults import (
    CONTENT_SWITCHES,
    ApiRequest,
    FaultPlan,
    FaultRule,
    make_rule,
    throttled,
)
from o365_pipeline.emulator.identity import ALL_ROLES, IdentityService
from o365_pipeline.emulator.listing import parse_api_time
from o365_pipeline.emulator.replay import ReplayedTenants
from o365_pipeline.emulator.responses import Reply, json_reply
from o365_pipeline.emulator.samples import SAMPLE_TENANTS
from o365_pipeline.emulator.state import SubscriptionState
from o365_pipeline.emulator.synthetic import SyntheticTenants
from o365_pipeline.emulator.tenant_content import TenantContent
from o365_pipeline.emulator.tls import make_server_context
from o365_pipeline.tenants import DEMO_TENANTS

DEFAULT_CLIENT_ID = "5e1b0a3c-7d2f-4e8a-9b6c-0f4d3e2a1b9c"
DEFAULT_CLIENT_SECRET = "emulator-secret"
TOKEN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/(?P<v2>v2\.0/)?token$")
CONTROL_PREFIX = "/_emulator/"
DISCOVERY_PATH = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")


@dataclass(frozen=True)
class EmulatorConfig:
    """What the emulator serves and accepts."""

    tenants: tuple[str, ...] = tuple(tenant.tenant_id for tenant in DEMO_TENANTS)
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    records_per_hour: int = 40
    page_size: int = 100
    token_lifetime_seconds: int = 3600
    content_retention: timedelta = timedelta(days=7)
    redelivery_fraction: float = 0.03
    state_path: Path | None = None
    seed: int = 0
    # Extensions beyond the agreed interface, all optional: the app roles admin consent
    # granted (drives AF10001 and DLP detections), and a fixed number of blobs per hour
    # (None = seeded, 2-4 for small volumes, more so a blob holds about 5,000 records).
    granted_roles: tuple[str, ...] = ALL_ROLES
    # Per tenant: (tenant_id, roles) pairs overriding granted_roles for that tenant.
    tenant_roles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    blobs_per_hour: int | None = None
    blob_cache_mb: int = 64
    # A cloud round trip for every Activity API request (benchmarks use 100 ms).
    latency_ms: int = 0
    # Throttling budgets per tenant and minute (detail §5: about 2,000 per PublisherIdentifier;
    # calls without one share a smaller tenant-wide budget). 0 = unlimited.
    requests_per_minute: int = 2000
    requests_per_minute_without_publisher: int = 200
    # The budget's window (a minute on the service; tests shorten it, scaling the budgets).
    budget_window_seconds: float = 60.0
    # Faults switched on from the start (`--fault`), see faults.py.
    faults: tuple[FaultRule, ...] = ()
    # (tenant_id, export file) pairs: those tenants serve the exported records (NDJSON or a
    # JSON array) laid over the last `replay_hours` complete hours instead of synthetic ones.
    replay: tuple[tuple[str, Path], ...] = ()
    replay_hours: int = 24
    # Tenants whose unified audit logging is off: starting a subscription gets the service's
    # garbled "Tenant … does not exist" 400.
    auditing_off_tenants: tuple[str, ...] = ()
    # (tenant_id, cloud name of o365_pipeline.api.clouds.CLOUDS) pairs; unnamed tenants are
    # "commercial". Tokens are issued and accepted only for the tenant's cloud resource.
    tenant_clouds: tuple[tuple[str, str], ...] = ()
    # PEM certificates (public part only) registered on the app, as uploaded to an app
    # registration: a client assertion signed by one of their keys authenticates the client
    # like the secret does (`--client-certificate`; certificates.make_self_signed_certificate).
    client_certificates: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoggedRequest:
    """One request the emulator answered (for tests to assert on)."""

    method: str
    path: str
    query: str
    status: int


class Emulator:
    """A running emulator: its address, CA, clock, faults, request log and ground truth."""

    def __init__(self, config: EmulatorConfig, host: str, port: int, ca_dir: Path | None) -> None:
        self.config = config
        self._tempdir = None if ca_dir else tempfile.TemporaryDirectory(prefix="o365-emulator-")
        context, self.ca_cert_path = make_server_context(
            Path(ca_dir) if ca_dir else Path(self._tempdir.name)
        )
        self._server = _TlsServer((host, port), _Handler, context)
        self._server.emulator = self
        display_host = f"[{host}]" if ":" in host else host
        self.base_url = f"https://{display_host}:{self._server.server_address[1]}"
        self.clock = EmulatorClock()
        self.faults = FaultPlan(seed=config.seed)
        scale = config.budget_window_seconds / 60.0
        self.budget = RequestBudget(
            per_publisher=round(config.requests_per_minute * scale),
            without_publisher=round(config.requests_per_minute_without_publisher * scale),
            window_seconds=config.budget_window_seconds,
        )
        self._revoked_tokens: set[str | None] = set()
        # Every bearer token presented (tests grep logs and files for them).
        self.bearer_tokens_seen: set[str] = set()
        self._content_switches: dict[str, FaultRule] = {}
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self.identity = IdentityService(
            base_url=self.base_url,
            tenants=config.tenants,
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_lifetime_seconds=config.token_lifetime_seconds,
            clock=self.clock,
            granted_roles=config.granted_roles,
            tenant_roles=config.tenant_roles,
            tenant_domains={
                f"{tenant.name}.onmicrosoft.com": tenant.tenant_id
                for tenant in (*DEMO_TENANTS, *SAMPLE_TENANTS)
            },
            tenant_clouds=config.tenant_clouds,
            client_certificates=config.client_certificates,
        )
        self.api = ActivityApi(
            base_url=self.base_url,
            tenants=config.tenants,
            identity=self.identity,
            content=_content(config, self.clock),
            state=SubscriptionState(config.state_path),
            clock=self.clock,
            page_size=config.page_size,
            blob_cache_bytes=config.blob_cache_mb << 20,
            content_retention=config.content_retention,
            auditing_off=frozenset(config.auditing_off_tenants),
            client_id=config.client_id,
        )
        self._thread: threading.Thread | None = None
        self._last_request = time.monotonic()
        self.add_faults(*config.faults)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return self._server.server_address[1]

    def start(self) -> Emulator:
        """Serve on a background daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="o365-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until `stop()` (from another thread or a signal)."""
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._tempdir:
            self._tempdir.cleanup()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def idle_seconds(self) -> float:
        """Seconds since the last request (an on-demand emulator exits when idle)."""
        return time.monotonic() - self._last_request

    def requests(self) -> list[LoggedRequest]:
        """Every request answered so far."""
        with self._log_lock:
            return list(self._log)

    def ground_truth(
        self, tenant_id: str, content_type: str, start: datetime, end: datetime
    ) -> frozenset[str]:
        """Distinct record Ids listable now in blobs with start ≤ contentCreated < end."""
        return self.api.ground_truth(tenant_id, content_type, start, end)

    def answer(self, method: str, target: str, headers, body: bytes) -> Reply:
        """Route one request (called by the handler threads) and log it."""
        self._last_request = time.monotonic()
        parts = urlsplit(target)
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(name.lower(), value)  # ASP.NET binding: case-insensitive, first wins
        path = parts.path
        if match := FEED_PATH.match(path):
            if self.config.latency_ms:
                time.sleep(self.config.latency_ms / 1000)  # in the handler thread, no lock held
            request = ApiRequest(
                method,
                match["operation"],
                query.get("publisheridentifier"),
                f"{self.base_url}{target}",
            )
            reply = self._api(request, match["tenant"], path, query, headers, body)
        elif path.startswith(CONTROL_PREFIX):
            reply = self._control(method, path.removeprefix(CONTROL_PREFIX), query, body)
        else:
            reply = self._login(method, path, query, body)
        with self._log_lock:
            self._log.append(LoggedRequest(method, path, parts.query, reply.status))
        return reply

    def _api(
        self,
        request: ApiRequest,
        tenant: str,
        path: str,
        query: dict[str, str],
        headers,
        body: bytes,
    ) -> Reply:
        """An Activity API request: the throttling budget first, then faults, then the real
        answer.
        """
        authorization = headers.get("Authorization")
        if authorization:
            with self._log_lock:
                self.bearer_tokens_seen.add(authorization.removeprefix("Bearer "))
        wait = self.budget.charge(tenant.lower(), request.publisher_id, time.monotonic())
        if wait is not None:
            return throttled(request, 429, wait)

        def real() -> Reply:
            if authorization in self._revoked_tokens:
                return access_denied()
            return self.api.handle(request.method, path, query, body, authorization)

        def expire_token() -> None:
            self._revoked_tokens.add(authorization)

        return self.faults.answer(request, real, expire_token)

    def add_faults(self, *rules: FaultRule) -> None:
        """Switch faults on: request faults go to the plan, content switches reshape content."""
        for rule in rules:
            if rule.kind == "duplicates":
                self.api.reshape_content(redelivery_fraction=rule.options["fraction"])
            elif rule.kind == "huge_blob":
                self.api.reshape_content(huge_blob_records=rule.options["records"])
            else:
                self.faults.add(rule)
            if rule.kind in CONTENT_SWITCHES:
                self._content_switches[rule.kind] = rule

    def clear_faults(self) -> None:
        """Every fault off; content back to its configured shape; the clock unskewed."""
        self.faults.clear()
        if self._content_switches:
            self.api.reshape_content(
                redelivery_fraction=self.config.redelivery_fraction, huge_blob_records=0
            )
            self._content_switches.clear()
        self.clock.set_offset(0)

    def _control(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        """The test-and-demo control surface (no auth; the emulator binds to loopback).

        `GET faults` lists what is on; `POST faults` takes `[{"kind": ..., ...}]` (or one
        object) and switches it on; `DELETE faults` switches everything off; `POST clock` takes
        `{"offset_seconds": N}` to skew the server clock (and its `Date` header).
        """
        if path == "faults" and method == "GET":
            return json_reply(200, self._fault_status())
        if path == "faults" and method == "POST":
            try:
                specs = json.loads(body or b"[]")
                specs = specs if isinstance(specs, list) else [specs]
                rules = [make_rule(**spec) for spec in specs]
            except (ValueError, TypeError) as error:
                return json_reply(400, {"error": "bad_fault", "error_description": str(error)})
            self.add_faults(*rules)
            return json_reply(200, self._fault_status())
        if path == "faults" and method == "DELETE":
            self.clear_faults()
            return json_reply(200, self._fault_status())
        if path == "clock" and method == "POST":
            try:
                self.clock.set_offset(float(json.loads(body)["offset_seconds"]))
            except (ValueError, KeyError, TypeError):
                return json_reply(
                    400, {"error": "bad_clock", "error_description": 'send {"offset_seconds": N}'}
                )
            return json_reply(200, {"offset_seconds": self.clock.offset_seconds})
        if path == "ground-truth" and method == "GET":
            return self._ground_truth_reply(query)
        if path == "health" and method == "GET":
            return json_reply(200, {"status": "ok"})
        return json_reply(404, {"error": "not_found", "error_description": f"No route {path}"})

    def _fault_status(self) -> dict:
        return {
            "faults": self.faults.active()
            + [rule.describe() for rule in self._content_switches.values()],
            "hits": dict(self.faults.hits),
            "clock_offset_seconds": self.clock.offset_seconds,
        }

    def _login(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        if method == "POST" and (match := TOKEN_PATH.match(path)):
            return self.identity.token(match["tenant"], body, version=2 if match["v2"] else 1)
        if method == "GET" and (match := DISCOVERY_PATH.match(path)):
            return self.identity.openid_configuration(match["tenant"])
        if method == "GET" and path == "/common/discovery/instance":
            return self.identity.instance_discovery(query)
        return json_reply(404, {"error": "not_found", "error_description": f"No route {path}"})

    def _ground_truth_reply(self, query: dict[str, str]) -> Reply:
        """`GET /_emulator/ground-truth?tenantId&contentType&startTime&endTime` (no auth)."""
        for name in ("tenantId", "contentType", "startTime", "endTime"):
            if not query.get(name.lower()):
                return api_error("AF20001", name=name)
        start, end = parse_api_time(query["starttime"]), parse_api_time(query["endtime"])
        if start is None or end is None:
            name = "startTime" if start is None else "endTime"
            return api_error("AF20002", name=name, expected="datetime")
        try:
            content_type = content_type_named(query["contenttype"]).name
        except UnknownContentTypeError:
            return api_error("AF20020", content_type=query["contenttype"])
        ids = sorted(self.ground_truth(query["tenantid"], content_type, start, end))
        return json_reply(200, {"count": len(ids), "ids": ids})


class _TlsServer(ThreadingHTTPServer):
    """TLS is negotiated in the request's own thread, so a slow handshake never blocks accept."""

    daemon_threads = True

    def __init__(self, address, handler, context) -> None:
        self._context = context
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        try:
            tls = self._context.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled requests.Session reuses connections
    timeout = 120  # an idle keep-alive connection frees its thread eventually
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator = self.server.emulator
        try:
            reply = emulator.answer(method, self.path, self.headers, body)
        except Exception:  # an emulator bug: answer like the service's internal error, loudly
            traceback.print_exc()
            reply = api_error("AF50000")
        if reply.delay_seconds:
            time.sleep(reply.delay_seconds)
        if reply.reset:
            self._drop_connection()
            return
        self.send_response_only(reply.status)
        self.send_header("Server", "Microsoft-IIS/10.0")
        self.send_header("Date", email.utils.format_datetime(emulator.clock.now(), usegmt=True))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.cut_after_bytes is not None:
            self.wfile.write(reply.body[: reply.cut_after_bytes])
            self.wfile.flush()
            self._drop_connection()
            return
        self.wfile.write(reply.body)

    def _drop_connection(self) -> None:
        """Close the TCP connection abruptly (RST where the platform allows)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silent: the request log is kept in memory; URLs may carry tenant ids."""


def _content(config: EmulatorConfig, clock: EmulatorClock) -> TenantContent:
    synthetic = SyntheticTenants(
        records_per_hour=config.records_per_hour,
        redelivery_fraction=config.redelivery_fraction,
        seed=config.seed,
        blobs_per_hour=config.blobs_per_hour,
    )
    if not config.replay:
        return TenantContent(synthetic)
    files: dict[str, list[Path]] = {}
    for tenant, path in config.replay:
        files.setdefault(tenant.lower(), []).append(Path(path))
    replayed = ReplayedTenants(files, now=clock.now, hours=config.replay_hours)
    return TenantContent(synthetic, replayed, frozenset(files))


def start_emulator(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ca_dir: Path | None = None,
) -> Emulator:
    """Start an emulator on a background thread (port 0 = a free port)."""
    return Emulator(config or EmulatorConfig(), host, port, ca_dir).start()
