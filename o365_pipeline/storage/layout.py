"""Where things live under the data folder: a Hive-style path per (content type, tenant, date,
hour) for audit tables, listings and ledger rows.

Paths are derived only from validated pieces (a known content type, a safe customer name, an
aware UTC hour), so nothing from the outside can steer a write elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from o365_pipeline.content_types import content_type_named
from o365_pipeline.tenants import validate_customer_name

AUDIT = "audit"
LISTINGS = "listings"
LEDGER = "ledger"
CATALOG = "catalog"


class DataLayout:
    """The folder layout under one data root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def audit_file(self, content_type: str, tenant: str, window_start: datetime) -> Path:
        """The one Parquet file of an audit partition."""
        return self._partition_dir(AUDIT, content_type, tenant, window_start) / "part.parquet"

    def listing_file(self, content_type: str, tenant: str, window_start: datetime) -> Path:
        """The saved content listing of a window."""
        return self._partition_dir(LISTINGS, content_type, tenant, window_start) / "listing.parquet"

    def ledger_file(self, content_type: str, tenant: str, window_start: datetime) -> Path:
        """The ledger summary row of a window (its blob rows sit beside it)."""
        return self._partition_dir(LEDGER, content_type, tenant, window_start) / "ledger.parquet"

    def schema_catalog_file(self, content_type: str) -> Path:
        """The schema catalog of a content type (what its partitions showed so far)."""
        name = content_type_named(content_type).name
        return self.root / CATALOG / f"content_type={name}" / "schema.json"

    def glob(self, area: str, file_name: str = "*.parquet", content_type: str | None = None) -> str:
        """A DuckDB glob over one area (`audit`, `listings`, `ledger`), optionally one type."""
        type_part = f"content_type={content_type_named(content_type).name}" if content_type else "*"
        return str(self.root / area / type_part / "*" / "*" / "*" / file_name)

    def _partition_dir(
        self, area: str, content_type: str, tenant: str, window_start: datetime
    ) -> Path:
        name = content_type_named(content_type).name
        validate_customer_name(tenant)
        if window_start.tzinfo is None:
            raise ValueError(f"window start {window_start} has no time zone; pass UTC")
        hour = window_start.astimezone(UTC)
        if (hour.minute, hour.second, hour.microsecond) != (0, 0, 0):
            raise ValueError(f"window start {hour.isoformat()} is not on the hour")
        return (
            self.root
            / area
            / f"content_type={name}"
            / f"tenant={tenant}"
            / f"date={hour:%Y-%m-%d}"
            / f"hour={hour:%H}"
        )
