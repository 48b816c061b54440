"""The HTTPS listener behind `o365-pipeline webhook serve`: it hands each POST to
`pipeline.notifications.answer_webhook_post` and writes the status it decides.

Why the standard library's `http.server` over `ssl` rather than an ASGI app: each request is
one bounded read, one SQLite commit and an empty answer, and the service sends notifications
at the rate blobs appear (a few per tenant and hour), so an event loop or a web framework would
be a dependency for nothing; threads keep a slow client from holding up the others, and the
project's other listeners (the consent redirect, the emulator) are built the same way.

Bounds, since the address faces the internet: TLS is negotiated in the request's own thread
with a timeout, so a silent client holds one thread for at most `CONNECTION_TIMEOUT_SECONDS`;
at most `MAX_CONNECTIONS` are served at once (more are closed unanswered, and the service
retries); a body must declare its length and stay under `MAX_BODY_BYTES`.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import ssl
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pydantic import SecretStr

from o365_pipeline.pipeline.notifications import AUTH_HEADER, answer_webhook_post
from o365_pipeline.storage.notification_log import NotificationLog

log = logging.getLogger("o365_pipeline.webhook")
CONNECTION_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 32
MAX_BODY_BYTES = 1 << 20  # a notification is "relatively small"; a blob list of 1,000 is ~500 kB


class WebhookServer(ThreadingHTTPServer):
    """`with WebhookServer(...) as server:` → `server.address`, `serve_forever()`."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        certificate_file: Path,
        key_file: Path,
        auth_id: SecretStr,
        notifications: NotificationLog,
    ) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._context.load_cert_chain(certificate_file, key_file)
        self.auth_id = auth_id
        self.notifications = notifications
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _NotificationHandler)

    @property
    def url(self) -> str:
        """`https://host:port` of the listening socket."""
        host, port = self.server_address[:2]
        return f"https://{f'[{host}]' if ':' in host else host}:{port}"

    def process_request(self, request: socket.socket, client_address) -> None:
        """Serve on a thread if a slot is free; otherwise close the connection at once."""
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address) -> None:
        """Handle the request, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request: socket.socket, client_address) -> None:
        """Negotiate TLS (bounded) in this thread, then handle the request."""
        request.settimeout(CONNECTION_TIMEOUT_SECONDS)
        try:
            tls = self._context.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            return  # a failed or silent handshake: nothing was received
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class _NotificationHandler(BaseHTTPRequestHandler):
    """POST only: a bounded body, judged by the use case, an empty answer."""

    timeout = CONNECTION_TIMEOUT_SECONDS
    server_version = "o365-pipeline-webhook"
    sys_version = ""
    server: WebhookServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        """Read the body within bounds, then answer what the use case decides."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._answer(411, "refused a POST without a Content-Length")
            return
        if int(length) > MAX_BODY_BYTES:
            self._answer(413, f"refused a POST of {length} bytes (at most {MAX_BODY_BYTES})")
            return
        try:
            body = self.rfile.read(int(length))
        except OSError:
            return  # the client stopped sending within the timeout
        try:
            answer = answer_webhook_post(
                auth_id=self.headers.get(AUTH_HEADER),
                body=body,
                expected_auth_id=self.server.auth_id,
                log=self.server.notifications,
                clock=lambda: datetime.now(UTC),
            )
        except (OSError, sqlite3.Error) as error:  # not recorded, so not 200
            self._answer(503, f"could not record a notification ({error}); the service retries")
            return
        self._answer(answer.status, answer.log_line)

    def do_GET(self) -> None:  # noqa: N802
        """The webhook only takes POSTs."""
        self._answer(405, "refused a GET (the webhook only takes POSTs)")

    def _answer(self, status: int, line: str) -> None:
        level = logging.INFO if status == 200 else logging.WARNING
        log.log(level, "%s %s: %s", self.client_address[0], status, line)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silent: `_answer` logs one line per request, without headers."""
