"""Which content each emulated tenant serves: synthetic records by default, or a user's own
exported records (`--replay TENANT=FILE`) for the tenants that have them.
"""

from __future__ import annotations

from datetime import datetime

from o365_emulator.planted_patterns import PlantedPattern
from o365_emulator.replay import ReplayedTenants
from o365_emulator.synthetic import BlobSpec, SyntheticTenants
from o365_pipeline.content_types import ContentType


class TenantContent:
    """Dispatches the content questions to the replay for replayed tenants, else synthetic."""

    def __init__(
        self,
        synthetic: SyntheticTenants,
        replayed: ReplayedTenants | None = None,
        replayed_tenants: frozenset[str] = frozenset(),
    ) -> None:
        self._synthetic = synthetic
        self._replayed = replayed
        self._replayed_tenants = frozenset(tenant.lower() for tenant in replayed_tenants)

    def _for(self, tenant_id: str) -> SyntheticTenants | ReplayedTenants:
        if self._replayed is not None and tenant_id.lower() in self._replayed_tenants:
            return self._replayed
        return self._synthetic

    def blobs_for_hour(
        self, tenant_id: str, content_type: ContentType, hour: datetime
    ) -> tuple[BlobSpec, ...]:
        """The blobs whose contentCreated falls in `hour`."""
        return self._for(tenant_id).blobs_for_hour(tenant_id, content_type, hour)

    def records(self, spec: BlobSpec) -> list[dict]:
        """The records of a blob."""
        return self._for(spec.tenant_id).records(spec)

    def record_ids(self, spec: BlobSpec) -> list[str]:
        """The Ids of a blob's records."""
        return self._for(spec.tenant_id).record_ids(spec)

    def planted_patterns(
        self, tenant_id: str, start: datetime, end: datetime
    ) -> list[PlantedPattern]:
        """Attack patterns planted in the hours start ≤ hour < end (synthetic tenants only: a
        replayed export is served as it is).
        """
        if self._for(tenant_id) is not self._synthetic:
            return []
        return self._synthetic.planted.patterns(tenant_id, start, end)

    def reshape(self, **changes: float | int | None) -> None:
        """Content switches (duplicates, huge blobs) reshape synthetic content only."""
        self._synthetic.reshape(**changes)
