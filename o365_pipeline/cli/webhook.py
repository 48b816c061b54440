"""`o365-pipeline webhook serve|subscribe`: opt-in push notifications.

`serve` runs the receiver (`webhook_server.py`) until SIGINT/SIGTERM; it records what
Microsoft announces and never fetches anything, the `webhook_notifications` sensor turns the
records into runs. `subscribe NAME` starts every content type of a tenant with the webhook
(`O365_WEBHOOK_ADDRESS`, `O365_WEBHOOK_AUTH_ID`), which makes the service validate the address
first: run it while `serve` is reachable there.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.config import ConfigurationError, Settings
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.pipeline.subscriptions import WebhookTarget, ensure_subscriptions
from o365_pipeline.storage.notification_log import NotificationLog


def add_arguments(commands: argparse._SubParsersAction) -> None:
    """Register `webhook serve` and `webhook subscribe` on the top-level parser."""
    webhook = commands.add_parser("webhook", help="opt-in push notifications (receiver, subscribe)")
    actions = webhook.add_subparsers(title="actions")
    serve = actions.add_parser("serve", help="receive Microsoft's notifications over HTTPS")
    serve.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    serve.set_defaults(handler=_serve)
    subscribe = actions.add_parser(
        "subscribe", help="start a tenant's content types with the webhook (validated first)"
    )
    subscribe.add_argument("name", help="the registered tenant's name")
    subscribe.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    subscribe.set_defaults(handler=_subscribe)


def webhook_target(settings: Settings) -> WebhookTarget:
    """The configured webhook.

    Raises:
        ConfigurationError: O365_WEBHOOK_ADDRESS (and so its authId) is not set.

    """
    if not settings.webhook_address or settings.webhook_auth_id is None:
        raise ConfigurationError(
            "O365_WEBHOOK_ADDRESS is not set: set the public https:// address that reaches "
            "`o365-pipeline webhook serve`, and O365_WEBHOOK_AUTH_ID."
        )
    return WebhookTarget(settings.webhook_address, settings.webhook_auth_id)


def _serve(args: argparse.Namespace) -> int:
    from o365_pipeline.cli.webhook_server import WebhookServer

    settings = Deployment.from_args(args).settings
    _require_receiver_settings(settings)
    notifications = NotificationLog.in_data_dir(settings.resolved_data_dir)
    _log_to_stderr()
    try:
        server = WebhookServer(
            (settings.webhook_listen_host, settings.webhook_listen_port),
            certificate_file=settings.webhook_cert_file,
            key_file=settings.webhook_key_file,
            auth_id=settings.webhook_auth_id,
            notifications=notifications,
        )
    except OSError as error:
        raise ConfigurationError(
            f"Cannot listen on {settings.webhook_listen_host}:{settings.webhook_listen_port} "
            f"or read the certificate ({error.strerror or error}): check "
            "O365_WEBHOOK_LISTEN_HOST / O365_WEBHOOK_LISTEN_PORT, O365_WEBHOOK_CERT_FILE and "
            "O365_WEBHOOK_KEY_FILE."
        ) from None
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()
    print(f"webhook receiver on {server.url}, recording to {notifications.path}", flush=True)
    stopped.wait()
    server.shutdown()
    server.server_close()
    thread.join()
    print("webhook receiver stopped", flush=True)
    return 0


def _subscribe(args: argparse.Namespace) -> int:
    deployment = Deployment.from_args(args)
    target = webhook_target(deployment.settings)
    tenant = deployment.tenants.get(args.name)
    client = deployment.client_named(args.name)
    try:
        statuses = ensure_subscriptions(client, tenant.name, CONTENT_TYPES, webhook=target)
    finally:
        client.close()
    for status in statuses:
        action = "started with the webhook" if status.started_now else "already notifying it"
        print(f"{tenant.name} {status.content_type}: {status.status}, {action}")
    return 0


def _require_receiver_settings(settings: Settings) -> None:
    missing = [
        variable
        for variable, value in (
            ("O365_WEBHOOK_AUTH_ID", settings.webhook_auth_id),
            ("O365_WEBHOOK_CERT_FILE", settings.webhook_cert_file),
            ("O365_WEBHOOK_KEY_FILE", settings.webhook_key_file),
        )
        if value is None
    ]
    if missing:
        raise ConfigurationError(
            f"`webhook serve` needs {', '.join(missing)}: the authId every notification must "
            "carry, and the PEM certificate chain and key it serves HTTPS with (Microsoft only "
            "notifies https:// addresses)."
        )


def _log_to_stderr() -> None:
    """One line per request on stderr (the handler never logs headers or bodies)."""
    logger = logging.getLogger("o365_pipeline.webhook")
    if not any(getattr(handler, "o365_webhook", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.o365_webhook = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
