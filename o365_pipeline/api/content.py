"""Value types the Activity API returns: content blobs (the items of a content listing) and
subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ContentBlob:
    """One item of `subscriptions/content`: a blob of audit records that can be fetched.

    Attributes:
        content_type: API name, e.g. "Audit.Exchange".
        content_id: opaque id; never parse it.
        content_uri: where to GET the blob; followed as given, only on the configured API host.
        content_created: when the blob became available (UTC); listing windows select on it.
        content_expiration: after this the API answers AF20051; read from the wire, never computed.

    """

    content_type: str
    content_id: str
    content_uri: str
    content_created: datetime
    content_expiration: datetime


@dataclass(frozen=True)
class Subscription:
    """One item of `subscriptions/list` (or the answer of `subscriptions/start`)."""

    content_type: str
    status: str
    webhook: dict | None = None

    @property
    def enabled(self) -> bool:
        """Whether the API will list content for this content type."""
        return self.status.lower() == "enabled"
