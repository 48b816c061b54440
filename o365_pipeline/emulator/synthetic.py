"""Deterministic synthetic tenants: (tenant, content type, hour) always gives the same blobs
and the same records.

The hour is the availability window (contentCreated). Each blob holds records whose
CreationTime precedes its contentCreated by 5–120 minutes, as on the real service, and a
small share of records re-delivered from the previous hour's blobs (same Id, same content),
because Microsoft re-delivers by design. Records are generated only when a blob is fetched or
its ground truth asked, and recent blobs are cached.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from o365_pipeline.content_types import ContentType, content_type_named
from o365_pipeline.emulator.workloads import BUILDERS_BY_CONTENT_TYPE, Population
from o365_pipeline.tenants import DEMO_TENANTS

RECORDS_PER_BLOB_TARGET = 2_000
_DEMO_DOMAINS = {tenant.tenant_id: f"{tenant.name}.onmicrosoft.com" for tenant in DEMO_TENANTS}


@dataclass(frozen=True)
class BlobSpec:
    """One synthetic blob: where it sits in time and how many original records it holds."""

    tenant_id: str
    content_type: str
    hour: datetime
    index: int
    content_start: datetime
    content_created: datetime
    original_records: int

    def content_id(self) -> str:
        """The id in the live service's shape: `{start}${end}${ct}${Ct}${shard}`."""
        slug = content_type_named(self.content_type).wire_slug
        return (
            f"{_stamp(self.content_start)}${_stamp(self.content_created)}${slug}$"
            f"{self.content_type.replace('.', '_')}$na{self.index:04d}"
        )


class SyntheticTenants:
    """The content of every emulated tenant."""

    def __init__(self, *, records_per_hour: int, redelivery_fraction: float, seed: int) -> None:
        self.records_per_hour = records_per_hour
        self.redelivery_fraction = redelivery_fraction
        self.seed = seed
        self._cache: OrderedDict[tuple, list[dict]] = OrderedDict()
        self._lock = threading.Lock()

    def blobs_for_hour(self, tenant_id: str, content_type: str, hour: datetime) -> list[BlobSpec]:
        """The blobs whose contentCreated falls in `hour`, in contentCreated order."""
        rng = self._rng("hour", tenant_id, content_type, hour)
        count = max(1, math.ceil(self.records_per_hour / RECORDS_PER_BLOB_TARGET)) + rng.randint(
            0, 1
        )
        offsets = sorted(rng.randint(60_000, 3_540_000) for _ in range(count))
        sizes = _split(self.records_per_hour, count, rng)
        specs, start = [], hour - timedelta(minutes=2)
        for index, (offset, size) in enumerate(zip(offsets, sizes, strict=True)):
            created = hour + timedelta(milliseconds=offset)
            specs.append(BlobSpec(tenant_id, content_type, hour, index, start, created, size))
            start = created + timedelta(milliseconds=1)
        return specs

    def records(self, spec: BlobSpec) -> list[dict]:
        """The records of a blob: originals, re-deliveries, and now and then an in-blob repeat."""
        key = (spec.tenant_id, spec.content_type, spec.hour, spec.index)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        rng = self._rng("blob", *key)
        records = self._originals(spec)
        records += self._redelivered(spec, rng)
        if records and rng.random() < 0.3:
            records.append(records[rng.randrange(len(records))])
        with self._lock:
            self._cache[key] = records
            while len(self._cache) > 256:
                self._cache.popitem(last=False)
        return records

    def _originals(self, spec: BlobSpec) -> list[dict]:
        rng = self._rng("originals", spec.tenant_id, spec.content_type, spec.hour, spec.index)
        people = Population(
            spec.tenant_id,
            _DEMO_DOMAINS.get(spec.tenant_id, f"tenant-{spec.tenant_id[:8]}.onmicrosoft.com"),
        )
        builders = BUILDERS_BY_CONTENT_TYPE[content_type_named(spec.content_type).name]
        choices = [builder for builder, _ in builders]
        weights = [weight for _, weight in builders]
        records = []
        for _ in range(spec.original_records):
            at = spec.content_created - timedelta(seconds=rng.randint(300, 7_200))
            at = at.replace(microsecond=0)
            body = rng.choices(choices, weights)[0](rng, people, at)
            records.append(
                {
                    "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
                    "Id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "Operation": body.pop("Operation"),
                    "OrganizationId": spec.tenant_id,
                    "RecordType": body.pop("RecordType"),
                    "UserKey": body.pop("UserKey"),
                    "UserType": body.pop("UserType"),
                    "Version": 1,
                    "Workload": body.pop("Workload"),
                    **body,
                }
            )
        return records

    def _redelivered(self, spec: BlobSpec, rng: random.Random) -> list[dict]:
        wanted = round(spec.original_records * self.redelivery_fraction)
        if wanted == 0:
            return []
        earlier = self.blobs_for_hour(
            spec.tenant_id, spec.content_type, spec.hour - timedelta(hours=1)
        )
        source = self._originals(earlier[spec.index % len(earlier)])
        return rng.sample(source, min(wanted, len(source)))

    def _rng(self, *parts: object) -> random.Random:
        text = "|".join(str(part) for part in (self.seed, *parts))
        return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    sizes = [int(total * weight / sum(weights)) for weight in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


def _stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond * 1000:09d}"


def hour_of(moment: datetime) -> datetime:
    """The UTC hour containing `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def content_type_of(name: str) -> ContentType:
    """The content type for a name (case-insensitive)."""
    return content_type_named(name)
