"""The emulator's HTTP plumbing: a threading HTTPS server that negotiates TLS in each request's
thread, and the handler that turns a request into `Emulator.answer()` and writes the reply,
including the wire-level faults (a delay, a body cut short, a dropped connection).
"""

from __future__ import annotations

import email.utils
import socket
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from o365_emulator.errors import api_error


class TlsServer(ThreadingHTTPServer):
    """TLS is negotiated in the request's own thread, so a slow handshake never blocks accept."""

    daemon_threads = True

    def __init__(self, address, handler, context) -> None:
        self._context = context
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        """Wrap the accepted socket in TLS, then handle it (a failed handshake is dropped)."""
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


class EmulatorHandler(BaseHTTPRequestHandler):
    """One request: ask the emulator for the reply, then write it as the service would."""

    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled requests.Session reuses connections
    timeout = 120  # an idle keep-alive connection frees its thread eventually
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Serve a GET."""
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        """Serve a POST."""
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        """Serve a DELETE (the control endpoint's)."""
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
        if reply.seconds_per_byte and reply.trickle_headers:
            self._headers_buffer.append(b"\r\n")
            head, self._headers_buffer = b"".join(self._headers_buffer), []
            if self._trickle(head, reply.seconds_per_byte):
                self.wfile.write(reply.body)
            return
        self.end_headers()
        if reply.cut_after_bytes is not None:
            self.wfile.write(reply.body[: reply.cut_after_bytes])
            self.wfile.flush()
            self._drop_connection()
            return
        if reply.seconds_per_byte:
            self._trickle(reply.body, reply.seconds_per_byte)
            return
        self.wfile.write(reply.body)

    def _trickle(self, data: bytes, seconds_per_byte: float) -> bool:
        """Send `data` a byte at a time; False when the client hung up first."""
        try:
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(seconds_per_byte)
        except OSError:
            self.close_connection = True
            return False
        return True

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
