"""Which tenants have stale data: per content type, the newest contentCreated landed for each
served tenant, against a threshold. Microsoft's delays reach hours (sometimes a day), so the
threshold is a setting, and "stale" means "look at it", not "data is lost".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from o365_pipeline.storage.views import connect


@dataclass(frozen=True)
class TenantFreshness:
    """The newest content landed for one tenant and content type (None = nothing yet)."""

    tenant: str
    newest_content_created: datetime | None

    def stale(self, now: datetime, threshold: timedelta) -> bool:
        """Older than the threshold, or nothing landed at all."""
        return self.newest_content_created is None or now - self.newest_content_created > threshold


def tenant_freshness(
    data_dir: Path, content_type: str, tenants: list[str]
) -> list[TenantFreshness]:
    """The newest landed content of each tenant for `content_type`, in the tenants' order."""
    with connect(data_dir) as connection:
        newest = dict(
            connection.execute(
                "SELECT tenant, newest_content_created FROM freshness WHERE content_type = ?",
                [content_type],
            ).fetchall()
        )
    return [TenantFreshness(tenant, newest.get(tenant)) for tenant in tenants]
