"""The webhook of `subscriptions/start`: the rules its body must meet and the validation POST
made to its address before the subscription is saved (Office 365 Management Activity API
reference, "Start a subscription" and "Webhook validation",
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference).

- `address` must be HTTPS, else AF20021 "The address must begin with HTTPS.".
- `expiration` is an optional datetime; empty means none (echoed as `null`, as in the
  reference's sample response); a time already past is AF20003; something that is not a time is
  AF20002.
- The service POSTs `{"validationCode": …}` with the same code in `Webhook-ValidationCode` (and
  `Webhook-AuthID` when an authId is given); anything but HTTP 200 — an error status, a redirect,
  a refused connection, a TLS failure, no answer within the timeout — is AF20021 "The endpoint
  did not return HTTP 200." and nothing is saved.
"""

from __future__ import annotations

import http.client
import json
import secrets
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from o365_emulator.errors import api_error
from o365_emulator.listing import parse_api_time
from o365_emulator.responses import Reply

NOT_HTTPS = "The address must begin with HTTPS."
NOT_VALIDATED = "The endpoint did not return HTTP 200."


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as a start body asks for it, before validation."""

    address: str
    auth_id: str
    expiration: str | None

    def as_saved(self) -> dict:
        """The `webhook` object of the subscription, as start and list show it."""
        return {
            "status": "enabled",
            "address": self.address,
            "authId": self.auth_id,
            "expiration": self.expiration,
        }


def requested_webhook(body: bytes, now: datetime) -> WebhookRequest | None | Reply:
    """The webhook a start body asks for (an empty body, `{}` or no `webhook` means none), or
    the API's error for a rule it breaks.
    """
    if not body.strip():
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return api_error("AF20002", name="body", expected="json")
    webhook = payload.get("webhook") if isinstance(payload, dict) else None
    if not webhook:
        return None
    if not isinstance(webhook, dict):
        return api_error("AF20002", name="webhook", expected="object")
    address = str(webhook.get("address") or "")
    if not address.lower().startswith("https://"):
        return api_error("AF20021", address=address, reason=NOT_HTTPS)
    expiration = webhook.get("expiration")
    if expiration is not None and not isinstance(expiration, str):
        return api_error("AF20002", name="expiration", expected="datetime")
    if expiration is not None and expiration.strip():
        moment = parse_api_time(expiration)
        if moment is None:
            return api_error("AF20002", name="expiration", expected="datetime")
        if moment <= now:
            return api_error("AF20003", expiration=expiration)
    else:
        expiration = None
    return WebhookRequest(address, str(webhook.get("authId") or ""), expiration)


class WebhookValidator:
    """Sends the validation notification. It trusts the public CAs, as the service does, and
    the emulator's own CA, so a local listener can use a certificate from the emulator's CA
    folder (`tls.make_server_context`).
    """

    def __init__(self, ca_cert_path: Path | None, timeout_seconds: float) -> None:
        self._context = ssl.create_default_context()
        if ca_cert_path is not None:
            self._context.load_verify_locations(cafile=str(ca_cert_path))
        self._timeout = timeout_seconds

    def refusal(self, webhook: WebhookRequest) -> Reply | None:
        """None when the address answered the validation POST with 200, else AF20021."""
        if self._answers_200(webhook):
            return None
        return api_error("AF20021", address=webhook.address, reason=NOT_VALIDATED)

    def _answers_200(self, webhook: WebhookRequest) -> bool:
        code = secrets.token_urlsafe(24)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Webhook-ValidationCode": code,
        }
        if webhook.auth_id:
            headers["Webhook-AuthID"] = webhook.auth_id
        body = json.dumps({"validationCode": code}).encode()
        return self.post(webhook.address, body, headers) == 200

    def post(self, address: str, body: bytes, headers: dict[str, str]) -> int | None:
        """POST `body` to a webhook address: its HTTP status, or None when there was no answer
        (refused, timed out, TLS failure, a malformed address or answer). Each step (connect,
        send, status line) is bounded by the timeout; the notifier sends through this too.
        """
        parts = urlsplit(address)
        if not parts.hostname:
            return None
        try:
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self._timeout, context=self._context
            )
        except ValueError:  # a port that is not a number
            return None
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        try:
            connection.request("POST", target, body=body, headers=headers)
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):  # refused, timed out, TLS, bad answer
            return None
        finally:
            connection.close()
