"""Attack patterns planted in the synthetic content, so that detections have something true to
find and a test can tell a finding from a false alarm.

Planting is deterministic and sparse: pattern kind k goes into the availability hours whose
hour number (hours since the epoch) is ≡ k's offset modulo `every_hours` (4 by default: each
kind about six times a tenant-day; the offsets differ, so any `every_hours` consecutive hours
hold every kind once). Its records replace background records of that hour's blobs at seeded
positions, keeping their Ids: record counts, Ids, re-deliveries and ground truth stay exactly as
without planting; only the content of those positions changes. Their events lie 50 to 25
minutes before the hour, so every record precedes its blob's contentCreated by 26–109 minutes,
inside the 5–120 minute lag the synthetic content keeps. An hour with too few records for a
pattern (a very low `records_per_hour`) goes without it; the truth lists only what was planted.
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from o365_emulator.workloads import Population
from o365_emulator.workloads.attacks import (
    AttackDraft,
    AttackRecord,
    admin_role_granted,
    consent_to_application,
    external_mail_forwarding,
    failed_sign_ins_then_success,
    high_severity_dlp_match,
    mass_file_download_or_deletion,
    sign_ins_from_many_ranges,
)
from o365_pipeline.content_types import ContentType, content_type_named

if TYPE_CHECKING:
    from o365_emulator.synthetic import BlobSpec

PLANT_EVERY_HOURS = 4
EVENTS_BEFORE_HOUR = timedelta(minutes=50)

AttackBuilder = Callable[[random.Random, Population, datetime, int], AttackDraft]


@dataclass(frozen=True)
class PatternKind:
    """One pattern: the detection rule that should find it, where it is planted and how."""

    rule: str
    content_type: str
    offset: int
    build: AttackBuilder


# The rule names are the pipeline's detection rules (o365_pipeline/detections/rules/*.sql).
PATTERN_KINDS: tuple[PatternKind, ...] = (
    PatternKind(
        "failed_sign_ins_then_success",
        "Audit.AzureActiveDirectory",
        0,
        failed_sign_ins_then_success,
    ),
    PatternKind(
        "sign_ins_from_many_ranges", "Audit.AzureActiveDirectory", 1, sign_ins_from_many_ranges
    ),
    PatternKind("admin_role_granted", "Audit.AzureActiveDirectory", 2, admin_role_granted),
    PatternKind("consent_to_application", "Audit.AzureActiveDirectory", 3, consent_to_application),
    PatternKind("external_mail_forwarding", "Audit.Exchange", 1, external_mail_forwarding),
    PatternKind(
        "mass_file_download_or_deletion", "Audit.SharePoint", 2, mass_file_download_or_deletion
    ),
    PatternKind("high_severity_dlp_match", "DLP.All", 3, high_severity_dlp_match),
)


@dataclass(frozen=True)
class PlantedPattern:
    """The truth about one planted instance: which rule should find it, about whom, and the
    Ids of its records (all served in the blobs of `window`, the availability hour).
    """

    rule: str
    tenant_id: str
    content_type: str
    window: datetime
    user: str
    ip: str | None
    first_seen: datetime
    last_seen: datetime
    ids: tuple[str, ...]

    def as_json(self) -> dict:
        """The truth endpoint's item."""
        return {
            "rule": self.rule,
            "tenantId": self.tenant_id,
            "contentType": self.content_type,
            "window": self.window.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user": self.user,
            "ip": self.ip,
            "firstSeen": self.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lastSeen": self.last_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ids": list(self.ids),
        }


@dataclass(frozen=True)
class _HourPlan:
    """What one (tenant, content type, hour) holds: planted records by (blob index, position)."""

    records: dict[tuple[int, int], AttackRecord]
    patterns: tuple[PlantedPattern, ...]


class PatternPlanter:
    """Where the patterns go in the synthetic content, and the truth about them."""

    def __init__(
        self,
        *,
        seed: int,
        every_hours: int,
        blobs_for_hour: Callable[[str, ContentType, datetime], tuple[BlobSpec, ...]],
        record_id: Callable[[BlobSpec, int], str],
        population: Callable[[str], Population],
    ) -> None:
        self.seed = seed
        self.every_hours = every_hours
        self._blobs_for_hour = blobs_for_hour
        self._record_id = record_id
        self._population = population
        self._plan = lru_cache(maxsize=1024)(self._plan_hour)

    def record_at(self, spec: BlobSpec, position: int) -> AttackRecord | None:
        """The planted record at this position of the blob (a private copy), or None."""
        if self.every_hours <= 0:
            return None
        planted = self._plan(spec.tenant_id, spec.content_type, spec.hour).records.get(
            (spec.index, position)
        )
        return AttackRecord(planted.at, copy.deepcopy(planted.body)) if planted else None

    def patterns(self, tenant_id: str, start: datetime, end: datetime) -> list[PlantedPattern]:
        """Every instance planted in the tenant's availability hours start ≤ hour < end."""
        found: list[PlantedPattern] = []
        hour = start.replace(minute=0, second=0, microsecond=0)
        hour += timedelta(hours=1) if hour < start else timedelta(0)
        while self.every_hours > 0 and hour < end:
            for content_type in sorted({kind.content_type for kind in PATTERN_KINDS}):
                found += self._plan(tenant_id, content_type, hour).patterns
            hour += timedelta(hours=1)
        return found

    def forget(self) -> None:
        """Drop the plans (the blobs they were made for changed)."""
        self._plan.cache_clear()

    def _plan_hour(self, tenant_id: str, content_type: str, hour: datetime) -> _HourPlan:
        number = int(hour.timestamp()) // 3600
        kinds = [
            kind
            for kind in PATTERN_KINDS
            if kind.content_type == content_type
            and number % self.every_hours == kind.offset % self.every_hours
        ]
        if not kinds:
            return _HourPlan({}, ())
        blobs = self._blobs_for_hour(tenant_id, content_type_named(content_type), hour)
        free = [(blob, position) for blob in blobs for position in range(blob.original_records)]
        records: dict[tuple[int, int], AttackRecord] = {}
        patterns = []
        for kind in kinds:
            rng = self._rng(tenant_id, kind.rule, hour)
            draft = kind.build(
                rng,
                self._population(tenant_id),
                hour - EVENTS_BEFORE_HOUR,
                number // self.every_hours,
            )
            if len(free) < len(draft.records):
                continue
            slots = sorted(rng.sample(free, len(draft.records)), key=lambda s: (s[0].index, s[1]))
            free = [slot for slot in free if slot not in slots]
            for (blob, position), record in zip(slots, draft.records, strict=True):
                records[(blob.index, position)] = record
            times = [record.at for record in draft.records]
            patterns.append(
                PlantedPattern(
                    rule=kind.rule,
                    tenant_id=tenant_id,
                    content_type=content_type,
                    window=hour,
                    user=draft.user,
                    ip=draft.ip,
                    first_seen=min(times),
                    last_seen=max(times),
                    ids=tuple(self._record_id(blob, position) for blob, position in slots),
                )
            )
        return _HourPlan(records, tuple(patterns))

    def _rng(self, *parts: object) -> random.Random:
        text = "|".join(str(part) for part in (self.seed, "planted", *parts))
        return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))
