"""Where things live under the data folder: a Hive-style path per (content type, tenant, date,
hour) for audit tables, listings and ledger rows.

Paths are derived only from validated pieces (a known content type, a safe customer name, an
aware UTC hour), so nothing from the outside can steer a write elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from o365_pipeline.content_types import content_type_named
from o365_pipeline.tenants import validate_customer_name

AUDIT = "audit"
LISTINGS = "listings"
LEDGER = "ledger"
CATALOG = "catalog"
REPORTS = "reports"
DETECTIONS = "detections"
DAILY = "daily"
DAILY_LEDGER = "daily_ledger"
FINDINGS_FILE_NAME = "findings.parquet"


@dataclass(frozen=True)
class StoredPartition:
    """The content type, tenant and hour a partition folder stands for, read back from its path
    (so a file can be placed even when its own bytes cannot be read).
    """

    content_type: str
    tenant: str
    window_start: datetime

    @property
    def label(self) -> str:
        """E.g. `Audit.Exchange contoso 2026-11-25T09:00Z`."""
        return f"{self.content_type} {self.tenant} {self.window_start:%Y-%m-%dT%H:%MZ}"


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

    def findings_file(self, tenant: str, day: date) -> Path:
        """The findings of the detection rules for one tenant's UTC day."""
        validate_customer_name(tenant)
        folder = self.root / DETECTIONS / f"tenant={tenant}" / f"date={day:%Y-%m-%d}"
        return folder / FINDINGS_FILE_NAME

    def findings_glob(self) -> str:
        """A DuckDB glob over every tenant-day's findings file."""
        return str(self.root / DETECTIONS / "tenant=*" / "date=*" / FINDINGS_FILE_NAME)

    def report_dir(self, tenant: str, day: date) -> Path:
        """The folder of one tenant's daily report (its HTML page and PNG charts)."""
        validate_customer_name(tenant)
        return self.root / REPORTS / f"tenant={tenant}" / f"date={day:%Y-%m-%d}"

    def daily_file(self, content_type: str, tenant: str, day: date) -> Path:
        """The one Parquet file of a compacted day (`daily/…/date=…/part.parquet`)."""
        return self._day_dir(DAILY, content_type, tenant, day) / "part.parquet"

    def daily_ledger_file(self, content_type: str, tenant: str, day: date) -> Path:
        """The ledger row proving a compacted day against its 24 hourly partitions."""
        return self._day_dir(DAILY_LEDGER, content_type, tenant, day) / "daily_ledger.parquet"

    def daily_glob(self, area: str = DAILY, file_name: str = "*.parquet") -> str:
        """A DuckDB glob over the per-day areas (`daily`, `daily_ledger`)."""
        return str(self.root / area / "*" / "*" / "*" / file_name)

    def _day_dir(self, area: str, content_type: str, tenant: str, day: date) -> Path:
        name = content_type_named(content_type).name
        validate_customer_name(tenant)
        return (
            self.root / area / f"content_type={name}" / f"tenant={tenant}" / f"date={day:%Y-%m-%d}"
        )

    def glob(self, area: str, file_name: str = "*.parquet", content_type: str | None = None) -> str:
        """A DuckDB glob over one area (`audit`, `listings`, `ledger`), optionally one type."""
        type_part = f"content_type={content_type_named(content_type).name}" if content_type else "*"
        return str(self.root / area / type_part / "*" / "*" / "*" / file_name)

    def partition_of(self, path: Path) -> StoredPartition | None:
        """The partition a file under any area belongs to, or None when its folders do not
        follow this layout (a stray file someone put there, an unknown content type, a name
        that is no customer name).
        """
        folders = Path(path).parent.parts[-4:]
        keys = ("content_type=", "tenant=", "date=", "hour=")
        if len(folders) != 4 or not all(map(str.startswith, folders, keys)):
            return None
        content_type, tenant, day, hour = (folder.split("=", 1)[1] for folder in folders)
        try:
            start = datetime.strptime(f"{day} {hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
            spelled_exactly = content_type_named(content_type).name == content_type
            validate_customer_name(tenant)
        except ValueError:  # also UnknownContentTypeError and InvalidTenantError
            return None
        return StoredPartition(content_type, tenant, start) if spelled_exactly else None

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
