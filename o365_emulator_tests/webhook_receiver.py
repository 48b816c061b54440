"""A tiny HTTPS webhook listener on 127.0.0.1 for the emulator to validate: it records every
POST it gets and answers each with `status` (which a test may change between POSTs).

It serves the certificate of the emulator's own CA folder (`tls.make_server_context`), which
the emulator trusts for webhooks, so nothing here touches the system trust store.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from o365_emulator.tls import make_server_context


@dataclass(frozen=True)
class ReceivedPost:
    """One POST the listener got."""

    path: str
    headers: dict[str, str]
    body: dict


class WebhookReceiver:
    """`with WebhookReceiver(ca_dir, status=200) as hook:` → `hook.address`, `hook.posts`."""

    def __init__(self, ca_dir: Path, status: int = 200) -> None:
        context, _ = make_server_context(ca_dir)
        self.posts: list[ReceivedPost] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                receiver.posts.append(ReceivedPost(self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Silent."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.address = f"https://127.0.0.1:{self._server.server_address[1]}/o365/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
