"""`o365-pipeline onboard NAME TENANT` and `consent-complete NAME URL`: a customer is registered,
an administrator of its tenant grants admin consent in a browser, Entra's redirect comes back,
then the tenant is checked (doctor), subscribed, and its first hours are landed.

Until consent is recorded the tenant stays registered as "consent pending": kept, so consent
can be asked again, but not served (no partitions, no schedule). Argument parsing and printing
only; the consent rules are in `pipeline/admin_consent.py`, the listener in `consent_listener.py`.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path

from o365_pipeline.cli.consent_listener import ConsentListener
from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.cli.tenants import (
    add_registration_arguments,
    register_tenant,
    report_doctor,
    resolve_tenant,
    sync_partitions,
)
from o365_pipeline.config import desktop_display_available
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.pipeline.admin_consent import (
    ConsentGranted,
    ConsentRequest,
    consent_request_for,
    read_redirect_url,
)
from o365_pipeline.pipeline.consent_requests import ConsentRequests
from o365_pipeline.pipeline.subscriptions import ensure_subscriptions
from o365_pipeline.tenants.credentials import client_settings_for
from o365_pipeline.tenants.registry import RegisteredTenant, RegistryError

DEFAULT_TIMEOUT_SECONDS = 600
DEFAULT_BACKFILL_HOURS = 24
# Its only failure that does not block: a new subscription can take up to 12 hours to list
# content ("Office 365 Management Activity API reference"), so a fresh tenant has none yet.
WAITS_FOR_CONTENT = "newest content"
HEARTBEAT_SECONDS = 15.0
_WINDOW_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:00 UTC")


def add_arguments(commands: argparse._SubParsersAction) -> None:
    """Register `onboard` and `consent-complete` on the top-level parser."""
    onboard = commands.add_parser(
        "onboard",
        help="register a tenant, get admin consent in a browser, then doctor and a backfill",
    )
    add_registration_arguments(onboard)
    onboard.add_argument(
        "--no-listen",
        action="store_true",
        help="print the consent URL for your own web app's redirect (--redirect-uri) and stop; "
        "finish with `consent-complete NAME URL`",
    )
    onboard.add_argument("--redirect-uri", help="with --no-listen: your app's registered URI")
    onboard.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for the administrator's answer (default {DEFAULT_TIMEOUT_SECONDS})",
    )
    onboard.add_argument("--no-browser", action="store_true", help="print the URL, open nothing")
    complete = commands.add_parser(
        "consent-complete", help="finish onboarding with the redirect URL Entra sent back"
    )
    complete.add_argument("name")
    complete.add_argument("url", help="the whole address the browser was redirected to")
    for parser in (onboard, complete):
        parser.add_argument(
            "--backfill-hours",
            type=int,
            default=DEFAULT_BACKFILL_HOURS,
            help="complete hours to land once consent is granted (0 = none)",
        )
        parser.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    onboard.set_defaults(handler=_onboard)
    complete.set_defaults(handler=_consent_complete)


def _onboard(args: argparse.Namespace) -> int:
    if args.no_listen != bool(args.redirect_uri):
        print(
            "error: --no-listen needs --redirect-uri (your app's registered redirect URI), and "
            "--redirect-uri goes with --no-listen (otherwise the local listener receives it).",
            file=sys.stderr,
        )
        return 2
    deployment = Deployment.from_args(args)
    entry = _registered_for_consent(deployment, args)
    if args.no_listen:
        request = _new_request(deployment, entry, args.redirect_uri)
        print(f"admin-consent URL for {entry.name}:\n{request.url}")
        print(
            "An administrator of the tenant opens it; your app receives the answer at "
            f"{request.redirect_uri}. Then: o365-pipeline consent-complete {entry.name} "
            "'<the URL your app was sent to>'"
        )
        return 0
    with ConsentListener() as listener:
        request = _new_request(deployment, entry, listener.redirect_uri)
        listener.expect(request)
        print(f"admin-consent URL for {entry.name} (an administrator of the tenant opens it):")
        print(request.url, flush=True)
        if not args.no_browser and _open_browser(request.url):
            print("(opened in your browser)")
        print(
            f"waiting up to {args.timeout:g} s for the answer at {listener.redirect_uri} "
            "(Ctrl-C stops; the tenant stays registered as consent pending)",
            flush=True,
        )
        granted = listener.wait(args.timeout)
    return _after_consent(deployment, entry, granted, args.backfill_hours)


def _consent_complete(args: argparse.Namespace) -> int:
    deployment = Deployment.from_args(args)
    entry = deployment.registry.get(args.name)
    request = _requests(deployment).load(entry.name)
    granted = read_redirect_url(args.url, request)
    return _after_consent(deployment, entry, granted, args.backfill_hours)


def _registered_for_consent(deployment: Deployment, args: argparse.Namespace) -> RegisteredTenant:
    """The entry to ask consent for: registered now as consent pending, or the existing one
    of that name and tenant (asking again after a decline or a timeout).
    """
    existing = next(
        (entry for entry in deployment.registry.tenants() if entry.name == args.name), None
    )
    if existing is None:
        return register_tenant(deployment, args, awaiting_consent=True)
    tenant_id = resolve_tenant(deployment, args.tenant, args.cloud)
    if existing.tenant_id != tenant_id:
        raise RegistryError(
            f"A tenant called {args.name!r} is already registered for {existing.tenant_id}, "
            f"not {tenant_id}: remove it first (`o365-pipeline tenants remove {args.name}`) "
            "or pick another name."
        )
    state = "consent pending" if existing.consent_pending else "served"
    print(f"{existing.name} is already registered ({state}): asking for admin consent again")
    return existing


def _new_request(
    deployment: Deployment, entry: RegisteredTenant, redirect_uri: str
) -> ConsentRequest:
    """A fresh request (new state) for the tenant's app, login host and cloud, kept so
    `consent-complete` can check an answer pasted back later.
    """
    settings = client_settings_for(deployment.endpoint(), entry.tenant, entry)
    request = consent_request_for(entry.name, settings, redirect_uri)
    _requests(deployment).save(request)
    return request


def _after_consent(
    deployment: Deployment, entry: RegisteredTenant, granted: ConsentGranted, hours: int
) -> int:
    """Record the consent, then doctor, subscriptions and the first backfill."""
    entry = deployment.registry.record_consent(entry.name)
    _requests(deployment).discard(entry.name)
    scopes = " ".join(granted.scopes) or "(none named)"
    print(f"admin consent granted for {entry.name} in tenant {granted.tenant_id} ({scopes})")
    sync_partitions(deployment)
    findings = report_doctor(deployment, entry)
    blocking = [item for item in findings if not item.ok and item.check != WAITS_FOR_CONTENT]
    if blocking:
        print(f"verdict: not ready ({', '.join(item.check for item in blocking)}; see fixes)")
        return 1
    print("verdict: ready, audit data can flow")
    client = deployment.client_for(entry.tenant, entry)
    for status in ensure_subscriptions(client, entry.name, CONTENT_TYPES):
        print(f"  subscription {status.content_type}: {status.status}")
    if hours <= 0:
        return 0
    return _first_backfill(deployment, entry.name, hours)


def _first_backfill(deployment: Deployment, name: str, hours: int) -> int:
    from o365_pipeline.cli.backfill import backfill_tenant

    print(f"first backfill of {name}: the {hours} newest fetchable hours, every content type")
    done = 0

    def progress(line: str) -> None:
        """Number the windows' lines ([3/24]); pass the backfill's other lines through."""
        nonlocal done
        if _WINDOW_LINE.search(line):
            done += 1
            line = f"  [{done}/{hours}]{line}"
        print(line, flush=True)

    stop_heartbeat = _heartbeat(f"  … landing {name}'s first {hours} hour(s)")
    try:
        result = backfill_tenant(deployment.settings, name, hours=hours, say=progress)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        stop_heartbeat()
    print(f"{len(result.succeeded)} window(s) landed, {len(result.failed)} failed")
    return 0 if not result.failed else 1


def _heartbeat(what: str, every_seconds: float = HEARTBEAT_SECONDS) -> Callable[[], None]:
    """Print `what` with the time spent every `every_seconds` until the returned function is
    called: the backfill reports its windows only when its run ends.
    """
    stopped = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not stopped.wait(every_seconds):
            print(f"{what}: {time.monotonic() - started:.0f} s so far", flush=True)

    thread = threading.Thread(target=beat, name="backfill-progress", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(every_seconds)

    return stop


def _requests(deployment: Deployment) -> ConsentRequests:
    return ConsentRequests.beside(deployment.settings.registry_file)


def _open_browser(url: str) -> bool:
    """Open `url` in a graphical browser, when this session has one. On Linux and the BSDs
    that needs a display: without one Python's `webbrowser` would fall back to a text browser
    in this very terminal, which would hide the prompt.
    """
    if sys.platform not in ("darwin", "win32") and not desktop_display_available():
        return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if type(browser) is webbrowser.GenericBrowser:  # a text browser: it would take the terminal
        return False
    return browser.open(url, new=2)
