"""`o365-pipeline emulator`: serve the emulator in the foreground until interrupted."""

from __future__ import annotations

import argparse
import shutil
import signal
import threading
from pathlib import Path

from o365_pipeline.emulator.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    start_emulator,
)
from o365_pipeline.tenants import DEMO_TENANTS, validate_tenant_id


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
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument(
        "--ca-out", type=Path, default=None, help="write the emulator's CA certificate (PEM) here"
    )
    parser.add_argument("--records-per-hour", type=int, default=40)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--state", type=Path, default=None, help="subscription state file")


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM."""
    tenants = (
        tuple(validate_tenant_id(tenant) for tenant in args.tenant)
        if args.tenant
        else tuple(tenant.tenant_id for tenant in DEMO_TENANTS)
    )
    config = EmulatorConfig(
        tenants=tenants,
        client_id=args.client_id,
        client_secret=args.client_secret,
        records_per_hour=args.records_per_hour,
        page_size=args.page_size,
        state_path=args.state,
    )
    emulator = start_emulator(config, host=args.host, port=args.port)
    if args.ca_out:
        args.ca_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(emulator.ca_cert_path, args.ca_out)
    ca_path = args.ca_out or emulator.ca_cert_path
    print(f"Office 365 Management API emulator on {emulator.base_url}", flush=True)
    print(f"  tenants:       {', '.join(tenants)}")
    print(f"  client id:     {args.client_id}")
    print(
        "  client secret: "
        + ("(as given)" if args.client_secret != DEFAULT_CLIENT_SECRET else DEFAULT_CLIENT_SECRET)
    )
    print(f"  CA (PEM):      {ca_path}")
    print(
        f"  a client sets: api/login base URL = {emulator.base_url}, CA bundle = {ca_path}",
        flush=True,
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.wait(0.5):
        pass
    emulator.stop()
    print("emulator stopped", flush=True)
    return 0
