"""What the Activity API POSTs to a webhook, read strictly (Office 365 Management Activity API
reference, "Webhook validation" and "Receiving notifications",
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference).

- The validation POST is one object, `{"validationCode": "…"}` (the same code is in the
  `Webhook-ValidationCode` header); the listener only has to answer 200.
- A notification is a JSON **array** of one or more objects: the listing item's `contentType`,
  `contentId`, `contentUri`, `contentCreated`, `contentExpiration`, plus `tenantId` (the tenant
  the content belongs to) and `clientId` (the application that created the subscription). "The
  number of content blobs in each notification is limited … query for the length of the
  array instead of expecting a fixed size": any length up to `MAX_ITEMS` is read.

Anything else is refused whole with one line naming what is wrong, so nothing half-read is
recorded; the values are bounded, since the address is reachable from the internet.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from o365_pipeline.api.content import ContentBlob
from o365_pipeline.api.windows import parse_api_time
from o365_pipeline.content_types import UnknownContentTypeError, content_type_named
from o365_pipeline.errors import PipelineError

MAX_ITEMS = 1000
MAX_TEXT = 2048


class MalformedNotificationError(PipelineError, ValueError):
    """A POST to the webhook that is neither a validation nor a notification array."""


@dataclass(frozen=True)
class ValidationPost:
    """The POST `subscriptions/start` sends before it saves a webhook."""

    validation_code: str


@dataclass(frozen=True)
class ContentNotification:
    """One blob a notification announces, with the tenant it belongs to."""

    tenant_id: str
    client_id: str
    blob: ContentBlob


def read_webhook_post(body: bytes) -> ValidationPost | list[ContentNotification]:
    """The validation POST, or the blobs a notification announces.

    Raises:
        MalformedNotificationError: not JSON, not one of the two shapes, or a field missing or
            out of bounds (the message names the item and the field).

    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedNotificationError("The body is not JSON.") from None
    if isinstance(payload, dict) and "validationCode" in payload:
        return ValidationPost(_text(payload, "validationCode", 0))
    if not isinstance(payload, list) or not payload:
        raise MalformedNotificationError(
            "The body is neither a validation object nor a non-empty array of notifications."
        )
    if len(payload) > MAX_ITEMS:
        raise MalformedNotificationError(
            f"The notification holds {len(payload)} items; at most {MAX_ITEMS} are read."
        )
    return [_notification(item, position) for position, item in enumerate(payload)]


def _notification(item: object, position: int) -> ContentNotification:
    if not isinstance(item, dict):
        raise MalformedNotificationError(f"Item {position} of the notification is not an object.")
    content_type = _text(item, "contentType", position)
    try:
        content_type = content_type_named(content_type).name
    except UnknownContentTypeError:
        raise MalformedNotificationError(
            f"Item {position}: contentType {content_type[:80]!r} is not a known content type."
        ) from None
    content_uri = _text(item, "contentUri", position)
    if not content_uri.lower().startswith("https://"):
        raise MalformedNotificationError(f"Item {position}: contentUri is not an https:// URL.")
    return ContentNotification(
        tenant_id=_guid(item, "tenantId", position),
        client_id=_text(item, "clientId", position),
        blob=ContentBlob(
            content_type=content_type,
            content_id=_text(item, "contentId", position),
            content_uri=content_uri,
            content_created=_time(item, "contentCreated", position),
            content_expiration=_time(item, "contentExpiration", position),
        ),
    )


def _text(item: dict, name: str, position: int) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedNotificationError(f"Item {position}: {name} is missing or not a string.")
    if len(value) > MAX_TEXT:
        raise MalformedNotificationError(
            f"Item {position}: {name} is {len(value)} characters long (at most {MAX_TEXT})."
        )
    return value


def _guid(item: dict, name: str, position: int) -> str:
    value = _text(item, name, position)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise MalformedNotificationError(f"Item {position}: {name} is not a GUID.") from None


def _time(item: dict, name: str, position: int) -> datetime:
    value = _text(item, name, position)
    try:
        return parse_api_time(value)
    except ValueError:
        raise MalformedNotificationError(
            f"Item {position}: {name} {value[:40]!r} is not an ISO 8601 UTC time."
        ) from None
