"""HTTP answers the emulator gives, with the headers the live Activity API sends."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# What the live service sends on every answer (Content-Type as in the Office 365 Management
# Activity API reference; the others are observed behaviour, not in the public reference);
# `Date` and `Server` are added by the server. No rate-limit headers on success.
API_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "Expires": "-1",
    "X-AspNet-Version": "4.0.30319",
    "X-Powered-By": "ASP.NET",
}


@dataclass(frozen=True)
class Reply:
    """Status, headers and body of one answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Wire-level misbehaviour (faults): wait before answering; announce the whole body but
    # send only this many bytes and close; or close the connection without answering.
    delay_seconds: float = 0.0
    cut_after_bytes: int | None = None
    reset: bool = False
    # Send the body one byte at a time, this many seconds apart (a hostile, trickling host).
    seconds_per_byte: float = 0.0
    trickle_headers: bool = False  # trickle the status line and headers instead of the body


def json_reply(status: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
    """A compact JSON answer with the API's headers."""
    return Reply(
        status,
        json.dumps(payload, separators=(",", ":")).encode(),
        {**API_HEADERS, **(headers or {})},
    )


def empty_reply(status: int = 200) -> Reply:
    """A body-less answer (`subscriptions/stop` answers 200 with an empty body)."""
    return Reply(status, b"", {k: v for k, v in API_HEADERS.items() if k != "Content-Type"})
