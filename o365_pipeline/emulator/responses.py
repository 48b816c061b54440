"""HTTP answers the emulator gives, in the shapes the real services use."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.utils import formatdate

# Headers the live Activity API sends (api-spec-detail §4.0); no rate-limit headers on success.
API_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "Expires": "-1",
    "Server": "Microsoft-IIS/10.0",
    "X-AspNet-Version": "4.0.30319",
    "X-Powered-By": "ASP.NET",
}


@dataclass
class Reply:
    """Status, headers and body of one answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def with_date(self) -> Reply:
        """Add the `Date` header every answer carries (clients use it to detect clock skew)."""
        self.headers.setdefault("Date", formatdate(usegmt=True))
        return self


def json_reply(status: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer with the API's headers."""
    return Reply(
        status,
        json.dumps(payload, separators=(",", ":")).encode(),
        {**API_HEADERS, **(headers or {})},
    )


def api_error(
    code: str, message: str, status: int = 400, headers: dict[str, str] | None = None
) -> Reply:
    """The Activity API's error envelope `{"error": {"code", "message"}}`."""
    return json_reply(status, {"error": {"code": code, "message": message}}, headers)


def unauthorized() -> Reply:
    """401 for a missing, invalid or expired token: ASP.NET's body, not the AF envelope."""
    return json_reply(
        401,
        {"Message": "Authorization has been denied for this request."},
        {"WWW-Authenticate": "Bearer"},
    )
