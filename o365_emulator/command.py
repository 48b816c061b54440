"""`o365-pipeline emulator`: serve the emulator in the foreground until interrupted (or, when
started on demand, until idle).
"""

import argparse
import json
import os
import shutil
import signal
import threading
from pathlib import Path

from o365_emulator.certificates import load_certificates
from o365_emulator.fault_rules import KINDS, FaultRule, FaultSpecError, parse_fault
from o365_emulator.notifier import NotificationSchedule
from o365_emulator.planted_patterns import PLANT_EVERY_HOURS
from o365_emulator.samples import numbered_tenant_id
from o365_emulator.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Emulator,
    EmulatorConfig,
    start_emulator,
)
from o365_pipeline.tenants import DEMO_TENANTS, validate_tenant_id

ENDPOINT_FILE = "endpoint.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("--port", type=int, default=8443, help="TCP port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument(
        "--tenant",
        action="append",
        default=None,
        metavar="GUID",
        help="tenant to serve (repeatable; default: the demo tenants)",
    )
    parser.add_argument(
        "--tenants",
        type=int,
        default=0,
        metavar="N",
        help="also serve N numbered healthy tenants (00000001-0000-4000-8000-000000000001, …), "
        "for benchmarks of many customers",
    )
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument(
        "--ca-out", type=Path, default=None, help="write the emulator's CA certificate (PEM) here"
    )
    parser.add_argument("--records-per-hour", type=int, default=40)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument(
        "--blobs-per-hour",
        type=int,
        default=None,
        help="blobs per tenant, content type and hour (default: about 5,000 records a blob)",
    )
    parser.add_argument(
        "--planted-every-hours",
        type=int,
        default=PLANT_EVERY_HOURS,
        metavar="HOURS",
        help="plant each attack pattern (for the detections) every this many hours per tenant; "
        f"0 = background activity only (default {PLANT_EVERY_HOURS})",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="keep subscriptions, TLS material and endpoint.json here",
    )
    parser.add_argument(
        "--any-port-if-busy",
        action="store_true",
        help="fall back to a free port when --port is taken",
    )
    parser.add_argument(
        "--idle-exit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="exit after this long without requests",
    )
    parser.add_argument(
        "--blob-cache-mb", type=int, default=64, help="memory for rendered blob bodies served again"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="added round-trip time per Activity API request"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="KIND[:NAME=VALUE,...]",
        help=f"switch a fault on (repeatable): {', '.join(KINDS)}; options count=N|all, "
        "probability=P, target=blob|listing|api and the kind's own (e.g. "
        "server_error:count=3,status=503  reset:probability=0.05,count=all  "
        "huge_blob:records=30000)"
        "; tests switch faults at run time through POST /_emulator/faults",
    )
    parser.add_argument(
        "--requests-per-minute",
        type=int,
        default=2000,
        help="throttling budget per tenant and PublisherIdentifier (0 = unlimited)",
    )
    parser.add_argument(
        "--requests-per-minute-without-publisher",
        type=int,
        default=200,
        help="tenant-wide budget shared by calls without PublisherIdentifier (0 = unlimited)",
    )
    parser.add_argument(
        "--replay",
        action="append",
        default=[],
        type=_replay,
        metavar="TENANT_GUID=FILE",
        help="serve this export (NDJSON or a JSON array of audit records) as the tenant's "
        "content, spread over the last --replay-hours complete hours (repeatable)",
    )
    parser.add_argument("--replay-hours", type=int, default=24)
    parser.add_argument(
        "--auditing-off",
        action="append",
        default=[],
        type=validate_tenant_id,
        metavar="TENANT_GUID",
        help="play a tenant whose unified audit logging is off (repeatable; also served)",
    )
    parser.add_argument(
        "--tenant-roles",
        action="append",
        default=[],
        type=_tenant_roles,
        metavar="TENANT_GUID=ROLE,ROLE",
        help="the app roles admin consent granted in that tenant (default: all three)",
    )
    parser.add_argument(
        "--client-certificate",
        action="append",
        default=[],
        type=_certificate_file,
        metavar="FILE.pem",
        help="register this PEM certificate (public part) on the app, so a client may "
        "authenticate with its key instead of the secret (repeatable)",
    )
    parser.add_argument(
        "--consent-required",
        action="append",
        default=[],
        type=validate_tenant_id,
        metavar="TENANT_GUID",
        help="play a tenant whose administrator has not granted admin consent yet: tokens "
        "without roles until Accept on /{tenant}/v2.0/adminconsent (repeatable; also served)",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="a redirect URI registered on the app, for the admin-consent page (repeatable; "
        "loopback ones are accepted on any port without it)",
    )
    parser.add_argument(
        "--notification-retry",
        nargs=2,
        type=float,
        default=(60.0, 86_400.0),
        metavar=("FIRST", "GIVE_UP"),
        help="webhook notifications: seconds before the first retry (doubling, at most an "
        "hour) and seconds of failures after which the webhook is disabled",
    )
    parser.add_argument("--fingerprint", default="", help=argparse.SUPPRESS)


def _tenant_and_value(text: str, form: str) -> tuple[str, str]:
    """Split `TENANT_GUID=VALUE` (the form named in the error), validating the tenant id."""
    tenant, sep, value = text.partition("=")
    if not sep or not value:
        raise argparse.ArgumentTypeError(f"expected {form}, got {text!r}")
    try:
        return validate_tenant_id(tenant.strip()), value
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _tenant_roles(text: str) -> tuple[str, tuple[str, ...]]:
    tenant, roles = _tenant_and_value(text, "TENANT_GUID=ROLE,ROLE")
    return tenant, tuple(role.strip() for role in roles.split(",") if role.strip())


def _replay(text: str) -> tuple[str, Path]:
    tenant, path = _tenant_and_value(text, "TENANT_GUID=FILE")
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"replay file {path} does not exist")
    return tenant, Path(path).resolve()


def _fault(text: str) -> FaultRule:
    try:
        return parse_fault(text)
    except FaultSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _certificate_file(text: str) -> str:
    """The PEM text of a certificate file, checked now so a wrong file is a usage error and
    not a traceback at start (the message never echoes the file, which may hold a key).
    """
    try:
        pem = Path(text).read_text()
        load_certificates(pem)
    except (OSError, UnicodeDecodeError) as error:
        raise argparse.ArgumentTypeError(
            f"cannot read {text}: {error.__class__.__name__}"
        ) from None
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text}: {error}") from None
    return pem


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM (or until idle, with --idle-exit)."""
    tenants = (
        tuple(dict.fromkeys(validate_tenant_id(tenant) for tenant in args.tenant))
        if args.tenant
        else tuple(tenant.tenant_id for tenant in DEMO_TENANTS)
    )
    # Tenants named only by --replay, --auditing-off, --tenant-roles or --consent-required are
    # served too.
    named = [tenant for tenant, _ in (*args.replay, *args.tenant_roles)]
    named += args.auditing_off + args.consent_required
    tenants += tuple(dict.fromkeys(tenant for tenant in named if tenant not in tenants))
    tenants += tuple(numbered_tenant_id(number) for number in range(1, args.tenants + 1))
    state_dir = args.state_dir.resolve() if args.state_dir else None
    config = EmulatorConfig(
        tenants=tenants,
        client_id=args.client_id,
        client_secret=args.client_secret,
        records_per_hour=args.records_per_hour,
        page_size=args.page_size,
        blobs_per_hour=args.blobs_per_hour,
        planted_every_hours=args.planted_every_hours,
        blob_cache_mb=args.blob_cache_mb,
        latency_ms=args.latency_ms,
        requests_per_minute=args.requests_per_minute,
        requests_per_minute_without_publisher=args.requests_per_minute_without_publisher,
        faults=tuple(args.fault),
        replay=tuple(args.replay),
        replay_hours=args.replay_hours,
        auditing_off_tenants=tuple(args.auditing_off),
        tenant_roles=tuple(args.tenant_roles),
        client_certificates=tuple(args.client_certificate),
        consent_required_tenants=tuple(args.consent_required),
        redirect_uris=tuple(args.redirect_uri),
        state_path=state_dir / "subscriptions.json" if state_dir else None,
        notifications=NotificationSchedule(
            first_retry_seconds=args.notification_retry[0],
            max_retry_seconds=max(args.notification_retry[0], 3600.0),
            give_up_seconds=args.notification_retry[1],
        ),
    )
    emulator = _start(config, args, state_dir)
    if args.ca_out:
        args.ca_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(emulator.ca_cert_path, args.ca_out)
    ca_path = args.ca_out or emulator.ca_cert_path
    if state_dir:
        _write_endpoint(state_dir, emulator, ca_path, args.fingerprint)
    _print_banner(emulator, tenants, args, ca_path)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.wait(0.5):
        if args.idle_exit and emulator.idle_seconds() > args.idle_exit:
            break
    emulator.stop()
    print("emulator stopped", flush=True)
    return 0


def _start(config: EmulatorConfig, args: argparse.Namespace, state_dir: Path | None) -> Emulator:
    ca_dir = state_dir / "tls" if state_dir else None
    try:
        return start_emulator(config, host=args.host, port=args.port, ca_dir=ca_dir)
    except OSError:
        if not args.any_port_if_busy:
            raise
        return start_emulator(config, host=args.host, port=0, ca_dir=ca_dir)


def _write_endpoint(state_dir: Path, emulator: Emulator, ca_path: Path, fingerprint: str) -> None:
    """Tell on-demand users where this emulator is (written atomically)."""
    endpoint = {
        "base_url": emulator.base_url,
        "ca_cert_path": str(ca_path),
        "pid": os.getpid(),
        "fingerprint": fingerprint,
    }
    temporary = state_dir / f".{ENDPOINT_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(endpoint))
    os.replace(temporary, state_dir / ENDPOINT_FILE)


def _print_banner(
    emulator: Emulator, tenants: tuple[str, ...], args: argparse.Namespace, ca_path: Path
) -> None:
    secret = "(as given)" if args.client_secret != DEFAULT_CLIENT_SECRET else DEFAULT_CLIENT_SECRET
    print(f"Office 365 Management API emulator on {emulator.base_url}", flush=True)
    print(f"  tenants:       {', '.join(tenants)}")
    print(f"  client id:     {args.client_id}")
    print(f"  client secret: {secret}")
    print(f"  CA (PEM):      {ca_path}")
    print("  a client sets (login and API share the base URL):")
    print(f"    O365_TENANT_ID={tenants[0]}")
    print(f"    O365_CLIENT_ID={args.client_id}")
    print(f"    O365_CLIENT_SECRET={secret}")
    print(f"    api_base_url = login_base_url = {emulator.base_url}; ca_bundle = {ca_path}")
    for rule in args.fault:
        print(f"  fault on:      {rule.describe()}")
    print("  SIGINT (Ctrl-C) or SIGTERM stops it.", flush=True)
