"""The short-lived loopback listener that receives Entra's redirect after admin consent, the
browser flow `az login` uses: `onboard` starts it, prints the consent URL whose `redirect_uri`
points at it, and waits (bounded) for the one answer.

Why the standard library's `http.server` on a thread: it serves one redirect from a browser on
this machine, so a web framework would be a dependency for nothing; a thread leaves the main
thread free to bound the wait and to take Ctrl-C; and `ThreadingHTTPServer` rather than a
single-threaded server because browsers open speculative connections that send nothing, which
would hold a single-threaded server's only request slot. It binds 127.0.0.1 on a port the OS
picks; the redirect URI names it `localhost`, the one host Entra accepts over plain http, on any
port ("Redirect URI (reply URL) restrictions",
https://learn.microsoft.com/entra/identity-platform/reply-url).

The answer is judged by `pipeline.admin_consent.read_consent_answer`; the browser is shown a
small page saying what happened, and only then is the waiting command woken.
"""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from o365_pipeline.pipeline.admin_consent import (
    AdminConsentError,
    ConsentGranted,
    ConsentRequest,
    ConsentTimeoutError,
    read_consent_answer,
)

CALLBACK_PATH = "/admin-consent"
CONNECTION_TIMEOUT_SECONDS = 10  # a browser's idle speculative connection is dropped after it


class ConsentListener:
    """`with ConsentListener() as listener:` → `expect(request)` → `wait(timeout)`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = ThreadingHTTPServer((host, 0), _CallbackHandler)
        self._server.daemon_threads = True
        self._server.listener = self
        self._request: ConsentRequest | None = None
        self._outcome: ConsentGranted | AdminConsentError | None = None
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="consent-listener",
            daemon=True,
        )

    @property
    def redirect_uri(self) -> str:
        """Where Entra sends the administrator's browser back."""
        return f"http://localhost:{self._server.server_address[1]}{CALLBACK_PATH}"

    def __enter__(self) -> ConsentListener:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expect(self, request: ConsentRequest) -> None:
        """The request whose answer this listener waits for."""
        self._request = request

    def wait(self, timeout_seconds: float) -> ConsentGranted:
        """The granted consent, once the browser brought the answer.

        Raises:
            ConsentTimeoutError: no answer within `timeout_seconds`.
            AdminConsentError: the answer declined, failed or was not this request's.

        """
        if not self._answered.wait(timeout_seconds):
            request = self._request
            customer = request.customer if request else "the tenant"
            raise ConsentTimeoutError(
                f"No admin-consent answer for {customer} within {timeout_seconds:g} s; it "
                "stays registered as consent pending. If an administrator consents later, "
                f"paste the address the browser then shows into `o365-pipeline "
                f"consent-complete {customer} 'URL'`, or run onboard again (--timeout)."
            )
        if isinstance(self._outcome, AdminConsentError):
            raise self._outcome
        assert self._outcome is not None
        return self._outcome

    def judge(self, query: str) -> tuple[ConsentGranted | AdminConsentError | None, bool]:
        """Record the first answer (later ones are ignored): (its outcome, whether it was the
        first). None while no request is expected yet.
        """
        with self._lock:
            if self._request is None:
                return None, False
            if self._outcome is not None:
                return self._outcome, False
            try:
                self._outcome = read_consent_answer(query, self._request)
            except AdminConsentError as error:
                self._outcome = error
            return self._outcome, True

    def wake(self) -> None:
        """The browser has its page: the waiting command may go on."""
        self._answered.set()


class _CallbackHandler(BaseHTTPRequestHandler):
    """GET /admin-consent?… only; anything else (a favicon) is 404 and leaves the wait alone."""

    timeout = CONNECTION_TIMEOUT_SECONDS
    server_version = "o365-pipeline"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Judge the answer, show the page, then wake the waiting command."""
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._page(404, "Not found", "This address only receives the admin-consent answer.")
            return
        listener: ConsentListener = self.server.listener
        outcome, first = listener.judge(parts.query)
        if outcome is None:
            self._page(503, "Not ready", "o365-pipeline is not waiting for an answer yet.")
        elif not first:
            self._page(409, "Already answered", "The answer was received; close this tab.")
        elif isinstance(outcome, ConsentGranted):
            self._page(
                200,
                "Consent recorded",
                "Consent recorded; you can close this tab. o365-pipeline goes on in the "
                "terminal (doctor, subscriptions, the first backfill).",
            )
        else:
            self._page(400, "Consent not recorded", str(outcome))
        if first:
            listener.wake()

    def _page(self, status: int, title: str, text: str) -> None:
        body = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body><main>"
            f'<h1>{html.escape(title)}</h1><p id="message">{html.escape(text)}</p>'
            "</main></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silent: the request line carries the answer's state."""
