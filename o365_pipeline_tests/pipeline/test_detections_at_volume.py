"""The detection rules at a busy tenant's volume: four hours of the emulator's synthetic content
at 1,000 records per content type and hour (all five types), written straight to hourly
partitions (synthetic_days.py, no HTTP), once without planted patterns and once with them.
Background activity at that volume flags nothing; every planted pattern is still found, and
nothing else. Then the `findings` view over the findings files those runs wrote.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from o365_emulator.planted_patterns import PLANT_EVERY_HOURS
from o365_emulator.synthetic import SyntheticTenants
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.detections import load_rules
from o365_pipeline.pipeline.detections import detect_day
from o365_pipeline.storage.findings import FINDINGS_COLUMNS
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.views import connect
from o365_pipeline_tests.synthetic_days import TENANT_ID, land_hours, long_ago

RECORDS_PER_HOUR = 1_000  # 2.5 times the volume at which background failures used to chain
TENANT = "contoso"
DAY = long_ago(9)
# 08:00-11:00 windows: every pattern kind once (one kind per hour offset modulo 4), and every
# event (up to two hours before contentCreated) on DAY.
FIRST_HOUR = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=UTC)
HOURS = [FIRST_HOUR + timedelta(hours=offset) for offset in range(4)]
RULE_NAMES = sorted(rule.name for rule in load_rules())


def _landed(root, planted_every_hours: int) -> SyntheticTenants:
    tenants = SyntheticTenants(
        records_per_hour=RECORDS_PER_HOUR,
        redelivery_fraction=0.1,
        seed=11,
        planted_every_hours=planted_every_hours,
    )
    for content_type in CONTENT_TYPES:
        land_hours(DataLayout(root), tenants, TENANT, content_type.name, HOURS)
    return tenants


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    root = tmp_path_factory.mktemp("busy_background") / "data"
    _landed(root, planted_every_hours=0)
    return root, detect_day(root, TENANT, DAY)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("busy_planted") / "data"
    tenants = _landed(root, planted_every_hours=PLANT_EVERY_HOURS)
    patterns = tenants.planted.patterns(TENANT_ID, HOURS[0], HOURS[-1] + timedelta(hours=1))
    return root, patterns, detect_day(root, TENANT, DAY)


def test_busy_background_activity_flags_nothing(background):
    root, report = background
    with connect(root) as connection:
        stored, failed = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE Operation = 'UserLoginFailed') FROM audit "
            "WHERE content_type = 'Audit.AzureActiveDirectory'"
        ).fetchone()
    assert stored >= len(HOURS) * RECORDS_PER_HOUR  # the volume really landed
    assert failed > 0  # and its background holds failed sign-ins the rule must not chain
    assert report.findings == ()
    assert report.counts_by_rule == dict.fromkeys(RULE_NAMES, 0)


def test_every_planted_pattern_is_found_at_volume_and_nothing_else(planted):
    _, patterns, report = planted
    assert sorted(pattern.rule for pattern in patterns) == RULE_NAMES
    for pattern in patterns:
        (finding,) = [
            finding
            for finding in report.findings
            if finding.rule == pattern.rule
            and finding.user == pattern.user
            and set(pattern.ids) <= set(finding.evidence_ids)
        ]
        assert finding.first_seen <= pattern.first_seen
    assert len(report.findings) == len(patterns)


def test_the_findings_view_counts_what_the_findings_files_hold(planted):
    root, _, report = planted
    reports = [report, detect_day(root, TENANT, DAY + timedelta(days=1))]  # a day with none
    files = sorted(root.glob("detections/tenant=*/date=*/findings.parquet"))
    in_files = Counter(
        rule for path in files for rule in pq.read_table(path).column("rule").to_pylist()
    )
    with connect(root) as connection:
        by_rule = dict(
            connection.execute("SELECT rule, count(*) FROM findings GROUP BY rule").fetchall()
        )
        described = [
            (name, kind.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"))
            for name, kind, *_ in connection.execute("DESCRIBE findings").fetchall()
        ]
        (first,) = connection.execute(
            "SELECT evidence_ids, first_seen FROM findings WHERE rule = ?",
            [reports[0].findings[0].rule],
        ).fetchall()
    assert len(files) == 2 and reports[1].findings == ()
    assert by_rule == dict(in_files) == reports[0].counts_by_rule
    assert described == [(name, kind) for name, kind, _ in FINDINGS_COLUMNS]
    assert first == (list(reports[0].findings[0].evidence_ids), reports[0].findings[0].first_seen)
