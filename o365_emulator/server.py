"""The emulator's HTTPS server: login paths and API paths on one loopback port.

`start_emulator()` runs it on a background thread (tests, the demo, the Dagster resource);
`command.py` runs it in the foreground for `o365-pipeline emulator`.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from o365_emulator.activity import FEED_PATH, ActivityApi
from o365_emulator.admin_consent import ADMIN_CONSENT_PATH, AdminConsentPage
from o365_emulator.budget import RequestBudget
from o365_emulator.clock import EmulatorClock
from o365_emulator.control import control_answer
from o365_emulator.errors import access_denied
from o365_emulator.fault_rules import CONTENT_SWITCHES, FaultRule
from o365_emulator.faults import ApiRequest, FaultPlan, throttled
from o365_emulator.graph_api import GRAPH_PREFIX, ServiceAnnouncementApi
from o365_emulator.http_server import EmulatorHandler, TlsServer
from o365_emulator.identity import DEFAULT_ROLES, IdentityService
from o365_emulator.notifier import NotificationSchedule
from o365_emulator.origin import request_origin
from o365_emulator.planted_patterns import PLANT_EVERY_HOURS, PlantedPattern
from o365_emulator.replay import ReplayedTenants
from o365_emulator.responses import Reply, json_reply
from o365_emulator.samples import SAMPLE_TENANTS
from o365_emulator.service_health import ServiceHealthTimeline
from o365_emulator.state import SubscriptionState
from o365_emulator.synthetic import SyntheticTenants
from o365_emulator.tenant_content import TenantContent
from o365_emulator.tls import make_server_context
from o365_emulator.webhooks import WebhookValidator
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
    granted_roles: tuple[str, ...] = DEFAULT_ROLES
    # Per tenant: (tenant_id, roles) pairs overriding granted_roles for that tenant.
    tenant_roles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    blobs_per_hour: int | None = None
    # Attack patterns planted in the synthetic content for the detections to find (each kind
    # every this many hours per tenant, planted_patterns.py); 0 = background activity only.
    planted_every_hours: int = PLANT_EVERY_HOURS
    blob_cache_mb: int = 64
    # A cloud round trip for every Activity API request (benchmarks use 100 ms).
    latency_ms: int = 0
    # Throttling budgets per tenant and minute (Office 365 Management Activity API reference,
    # "API throttling": about 2,000 per PublisherIdentifier; calls without one share a smaller
    # tenant-wide budget). 0 = unlimited.
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
    # How long `subscriptions/start` waits on each step of the webhook validation POST (connect,
    # send, status line) before refusing the webhook with AF20021.
    webhook_timeout_seconds: float = 5.0
    # Items per page of Microsoft Graph's service communications collections (Graph's default
    # is 100; tests shorten it to see `@odata.nextLink` followed).
    graph_page_size: int = 100
    # Tenants whose administrator has not granted admin consent yet: tokens without roles until
    # Accept on `/{tenant}/v2.0/adminconsent` (admin_consent.py). The others play a tenant
    # consented long ago (`granted_roles` / `tenant_roles`).
    consent_required_tenants: tuple[str, ...] = ()
    # Redirect URIs registered on the app besides loopback ones (accepted on any port).
    redirect_uris: tuple[str, ...] = ()
    # Notifications to saved webhooks (notifier.py): the scan interval and the retry policy.
    notifications: NotificationSchedule = NotificationSchedule()


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
        self._server = TlsServer((host, port), EmulatorHandler, context)
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
        self.content_switches: dict[str, FaultRule] = {}
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
            consent_required=config.consent_required_tenants,
        )
        self.admin_consent = AdminConsentPage(self.identity, self.clock, config.redirect_uris)
        self.content = _content(config, self.clock)
        self.api = ActivityApi(
            base_url=self.base_url,
            tenants=config.tenants,
            identity=self.identity,
            content=self.content,
            state=SubscriptionState(config.state_path),
            clock=self.clock,
            page_size=config.page_size,
            blob_cache_bytes=config.blob_cache_mb << 20,
            content_retention=config.content_retention,
            auditing_off=frozenset(config.auditing_off_tenants),
            client_id=config.client_id,
            webhooks=WebhookValidator(self.ca_cert_path, config.webhook_timeout_seconds),
            notifications=config.notifications,
        )
        self.service_health = ServiceHealthTimeline(seed=config.seed)
        self.graph = ServiceAnnouncementApi(
            identity=self.identity,
            timeline=self.service_health,
            clock=self.clock,
            page_size=config.graph_page_size,
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
        self.api.notifier.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until `stop()` (from another thread or a signal)."""
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.api.notifier.stop()
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

    def planted_patterns(
        self, tenant_id: str, start: datetime, end: datetime
    ) -> list[PlantedPattern]:
        """The attack patterns planted in the tenant's availability hours start ≤ hour < end."""
        return self.content.planted_patterns(tenant_id.lower(), start, end)

    def answer(self, method: str, target: str, headers, body: bytes) -> Reply:
        """Route one request (called by the handler threads) and log it."""
        self._last_request = time.monotonic()
        parts = urlsplit(target)
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(name.lower(), value)  # ASP.NET binding: case-insensitive, first wins
        path = parts.path
        origin = request_origin(headers.get("Host"), self.base_url)
        if match := FEED_PATH.match(path):
            if self.config.latency_ms:
                time.sleep(self.config.latency_ms / 1000)  # in the handler thread, no lock held
            request = ApiRequest(
                method, match["operation"], query.get("publisheridentifier"), f"{origin}{target}"
            )
            reply = self._api(request, match["tenant"], path, query, headers, body, origin)
        elif path.startswith(GRAPH_PREFIX):
            reply = self.graph.handle(method, path, query, headers, origin)
        elif path.startswith(CONTROL_PREFIX):
            reply = control_answer(self, method, path.removeprefix(CONTROL_PREFIX), query, body)
        else:
            reply = self._login(method, path, query, body, origin)
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
        origin: str,
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
            return self.api.handle(request.method, path, query, body, headers, origin=origin)

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
                self.content_switches[rule.kind] = rule

    def clear_faults(self) -> None:
        """Every fault off; content back to its configured shape; the clock unskewed."""
        self.faults.clear()
        if self.content_switches:
            self.api.reshape_content(
                redelivery_fraction=self.config.redelivery_fraction, huge_blob_records=0
            )
            self.content_switches.clear()
        self.clock.set_offset(0)

    def _login(
        self, method: str, path: str, query: dict[str, str], body: bytes, origin: str
    ) -> Reply:
        if method == "POST" and (match := TOKEN_PATH.match(path)):
            version = 2 if match["v2"] else 1
            return self.identity.token(match["tenant"], body, version=version, origin=origin)
        if method == "GET" and (match := DISCOVERY_PATH.match(path)):
            return self.identity.openid_configuration(match["tenant"], origin)
        if method == "GET" and path == "/common/discovery/instance":
            return self.identity.instance_discovery(query, origin)
        if method in ("GET", "POST") and (match := ADMIN_CONSENT_PATH.match(path)):
            params = query if method == "GET" else _form(body)
            return self.admin_consent.answer(
                method, path, match["tenant"], params, v2=bool(match["v2"])
            )
        return json_reply(404, {"error": "not_found", "error_description": f"No route {path}"})


def _form(body: bytes) -> dict[str, str]:
    """An HTML form post (application/x-www-form-urlencoded): names case-insensitive, first
    wins, as the query string is bound.
    """
    form: dict[str, str] = {}
    for name, value in parse_qsl(body.decode(errors="replace"), keep_blank_values=True):
        form.setdefault(name.lower(), value)
    return form


def _content(config: EmulatorConfig, clock: EmulatorClock) -> TenantContent:
    synthetic = SyntheticTenants(
        records_per_hour=config.records_per_hour,
        redelivery_fraction=config.redelivery_fraction,
        seed=config.seed,
        blobs_per_hour=config.blobs_per_hour,
        planted_every_hours=config.planted_every_hours,
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
