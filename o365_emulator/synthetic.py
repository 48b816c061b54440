"""Deterministic synthetic tenants: (seed, tenant, content type, hour) always gives the same
blobs, and each record is a pure function of (blob, position), so nothing is stored.

The hour is the availability window: its blobs have contentCreated inside it, and their records'
CreationTime precedes contentCreated by 5–120 minutes, as on the live service (observed
behaviour, not in the public reference).
Now and then a few positions hold a planted attack pattern instead of background activity
(`planted_patterns.py`: same Ids and counts, other content), so detections have truth to find.
A share of each blob are exact copies of records from earlier blobs, this hour's or the previous
hour's (same Id, same content, other key order), and now and then a record repeats within a
blob, because Microsoft re-delivers by design. Records are built only when a blob is fetched;
ground truth needs only their Ids, which are derived without building the records.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from o365_emulator.content_ids import format_content_id
from o365_emulator.planted_patterns import PLANT_EVERY_HOURS, PatternPlanter
from o365_emulator.workloads import BUILDERS_BY_CONTENT_TYPE, Population
from o365_emulator.workloads.entra import sign_in
from o365_emulator.workloads.population import sign_in_failure_chance
from o365_pipeline.content_types import ContentType, content_type_named
from o365_pipeline.tenants import DEMO_TENANTS

RECORDS_PER_BLOB_TARGET = 5_000
IN_BLOB_REPEAT_CHANCE = 0.3
_DEMO_DOMAINS = {tenant.tenant_id: f"{tenant.name}.onmicrosoft.com" for tenant in DEMO_TENANTS}
_CACHED_BLOBS = 32


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
    shard: str

    @property
    def content_id(self) -> str:
        """The id in the live service's shape."""
        return format_content_id(
            content_type_named(self.content_type),
            self.content_start,
            self.content_created,
            self.shard,
        )


RecordRef = tuple[BlobSpec, int]


class SyntheticTenants:
    """The content of every emulated tenant."""

    def __init__(
        self,
        *,
        records_per_hour: int,
        redelivery_fraction: float,
        seed: int,
        blobs_per_hour: int | None = None,
        planted_every_hours: int = PLANT_EVERY_HOURS,
    ) -> None:
        self.records_per_hour = records_per_hour
        self.redelivery_fraction = redelivery_fraction
        self.seed = seed
        self.blobs_per_hour = blobs_per_hour
        self.huge_blob_records = 0
        self._records: OrderedDict[BlobSpec, list[dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._failure_chance = sign_in_failure_chance(_sign_ins_per_hour(records_per_hour))
        self.blobs_for_hour = lru_cache(maxsize=4096)(self._blobs_for_hour)
        self.planted = PatternPlanter(
            seed=seed,
            every_hours=planted_every_hours,
            blobs_for_hour=self.blobs_for_hour,
            record_id=lambda spec, position: self._identity(spec, position)[0],
            population=self.population,
        )

    def _blobs_for_hour(
        self, tenant_id: str, content_type: ContentType, hour: datetime
    ) -> tuple[BlobSpec, ...]:
        """The blobs whose contentCreated falls in `hour`, in contentCreated order; consecutive
        blobs tile time on one shard (the next start is just after the previous end).
        """
        created = self._created_times(tenant_id, content_type, hour)
        if not created:
            return ()
        earlier = self._created_times(tenant_id, content_type, hour - timedelta(hours=1))
        start = (earlier[-1] if earlier else hour - timedelta(minutes=2)) + timedelta(
            milliseconds=1
        )
        rng = self._rng("sizes", tenant_id, content_type.name, hour)
        sizes = _split(self.records_per_hour, len(created), rng)
        sizes[0] += self.huge_blob_records
        shard = f"na{self._rng('shard', tenant_id, content_type.name).randint(1, 40):04d}"
        specs = []
        for index, (moment, size) in enumerate(zip(created, sizes, strict=True)):
            specs.append(
                BlobSpec(tenant_id, content_type.name, hour, index, start, moment, size, shard)
            )
            start = moment + timedelta(milliseconds=1)
        return tuple(specs)

    def _created_times(
        self, tenant_id: str, content_type: ContentType, hour: datetime
    ) -> list[datetime]:
        if self.records_per_hour <= 0:
            return []
        rng = self._rng("hour", tenant_id, content_type.name, hour)
        count = self.blobs_per_hour or (
            max(2, math.ceil(self.records_per_hour / RECORDS_PER_BLOB_TARGET)) + rng.randint(0, 2)
        )
        offsets = sorted(rng.sample(range(60_000, 3_540_000), count))
        return [hour + timedelta(milliseconds=offset) for offset in offsets]

    def reshape(
        self, *, redelivery_fraction: float | None = None, huge_blob_records: int | None = None
    ) -> None:
        """Change the content from now on (fault switches); cached blobs are forgotten."""
        if redelivery_fraction is not None:
            self.redelivery_fraction = redelivery_fraction
        if huge_blob_records is not None:
            self.huge_blob_records = huge_blob_records
        with self._lock:
            self._records.clear()
        self.blobs_for_hour.cache_clear()
        self.planted.forget()

    def records(self, spec: BlobSpec) -> list[dict]:
        """The records of a blob, built on demand (recently fetched blobs are kept)."""
        with self._lock:
            if spec in self._records:
                self._records.move_to_end(spec)
                return self._records[spec]
        refs = self._refs(spec)
        records = []
        for origin, position in refs:
            record = self._record(origin, position)
            if origin is not spec:
                record = _reordered(record, self._rng("order", origin, position, spec))
            records.append(record)
        with self._lock:
            self._records[spec] = records
            while len(self._records) > _CACHED_BLOBS:
                self._records.popitem(last=False)
        return records

    def record_ids(self, spec: BlobSpec) -> list[str]:
        """The Ids of the blob's records, in blob order, without building the records."""
        return [self._identity(origin, position)[0] for origin, position in self._refs(spec)]

    def _refs(self, spec: BlobSpec) -> list[RecordRef]:
        """Which records the blob holds: its originals, some re-deliveries from the previous
        hour's blobs at seeded positions, and occasionally one repeat of its own.
        """
        refs: list[RecordRef] = [(spec, position) for position in range(spec.original_records)]
        rng = self._rng("refs", spec)
        wanted = round(spec.original_records * self.redelivery_fraction)
        kind = content_type_named(spec.content_type)
        earlier = [
            blob
            for blob in (
                *self.blobs_for_hour(spec.tenant_id, kind, spec.hour - timedelta(hours=1)),
                *self.blobs_for_hour(spec.tenant_id, kind, spec.hour)[: spec.index],
            )
            if blob.original_records
        ]
        for _ in range(wanted if earlier else 0):
            origin = rng.choice(earlier)
            refs.insert(rng.randint(0, len(refs)), (origin, rng.randrange(origin.original_records)))
        if refs and rng.random() < IN_BLOB_REPEAT_CHANCE:
            refs.insert(rng.randint(0, len(refs)), refs[rng.randrange(len(refs))])
        return refs

    def _identity(self, spec: BlobSpec, position: int) -> tuple[str, int]:
        """The record's Id and the seed of the rest of its content."""
        text = f"{self.seed}|{spec.tenant_id}|{spec.content_type}|{spec.hour:%Y%m%d%H}|"
        digest = hashlib.sha256(f"{text}{spec.index}|{position}".encode()).digest()
        raw = bytearray(digest[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        hexed = raw.hex()
        record_id = f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
        return record_id, int.from_bytes(digest[16:24], "big")

    def _record(self, spec: BlobSpec, position: int) -> dict:
        record_id, body_seed = self._identity(spec, position)
        planted = self.planted.record_at(spec, position)
        if planted is not None:
            at, body = planted.at.replace(microsecond=0), planted.body
        else:
            rng = random.Random(body_seed)
            at = (spec.content_created - timedelta(seconds=rng.randint(300, 7_200))).replace(
                microsecond=0
            )
            builders = BUILDERS_BY_CONTENT_TYPE[spec.content_type]
            builder = rng.choices([b for b, _ in builders], [w for _, w in builders])[0]
            body = builder(rng, self.population(spec.tenant_id), at)
        return {
            "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
            "Id": record_id,
            "Operation": body.pop("Operation"),
            "OrganizationId": spec.tenant_id,
            "RecordType": body.pop("RecordType"),
            "UserKey": body.pop("UserKey"),
            "UserType": body.pop("UserType"),
            "Version": 1,
            "Workload": body.pop("Workload"),
            **body,
        }

    def population(self, tenant_id: str) -> Population:
        """The tenant's people, failing their sign-ins as often as this volume allows."""
        return _population(tenant_id, self._failure_chance)

    def _rng(self, *parts: object) -> random.Random:
        text = "|".join(str(part) for part in (self.seed, *parts))
        return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def _sign_ins_per_hour(records_per_hour: int) -> float:
    """The sign-ins among a tenant-hour's Audit.AzureActiveDirectory records (their share of
    the builders' weights).
    """
    builders = BUILDERS_BY_CONTENT_TYPE["Audit.AzureActiveDirectory"]
    share = sum(w for b, w in builders if b is sign_in) / sum(w for _, w in builders)
    return records_per_hour * share


@lru_cache(maxsize=256)
def _population(tenant_id: str, sign_in_failure_chance: float) -> Population:
    domain = _DEMO_DOMAINS.get(tenant_id, f"tenant-{tenant_id[:8]}.onmicrosoft.com")
    return Population(tenant_id, domain, sign_in_failure_chance)


def _reordered(record: dict, rng: random.Random) -> dict:
    """The same record with another key order: the live service's order is not stable."""
    keys = list(record)
    rng.shuffle(keys)
    return {key: record[key] for key in keys}


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    sizes = [int(total * weight / sum(weights)) for weight in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


def hour_of(moment: datetime) -> datetime:
    """The UTC hour containing `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
