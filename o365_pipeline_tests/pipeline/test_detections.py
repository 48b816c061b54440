"""The detection rules against emulator content: every planted pattern is found by its rule
with its records as evidence, nothing else is flagged, and background activity alone yields no
finding at all. Both datasets are landed once per session (planted_landing.py)."""

import shutil
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from o365_pipeline.detections import DetectionRuleError, load_rules, parse_rule
from o365_pipeline.pipeline.detections import (
    FINDINGS_SCHEMA,
    detect_day,
    read_findings,
)
from o365_pipeline.storage.views import connect

RULE_NAMES = sorted(rule.name for rule in load_rules())
SINGLE_RECORD_RULES = {
    "admin_role_granted",
    "consent_to_application",
    "external_mail_forwarding",
    "high_severity_dlp_match",
}


@pytest.fixture(scope="module")
def planted_report(planted_day, tmp_path_factory):
    root = tmp_path_factory.mktemp("detect") / "data"
    shutil.copytree(planted_day.root, root)
    return detect_day(root, planted_day.tenant, planted_day.day)


def _finding_of(report, pattern):
    """The one finding of the pattern's rule about its user sharing its records, if any."""
    matching = [
        finding
        for finding in report.findings
        if finding.rule == pattern["rule"]
        and finding.user == pattern["user"]
        and set(finding.evidence_ids) & set(pattern["ids"])
    ]
    assert len(matching) <= 1, matching
    return matching[0] if matching else None


def test_the_landing_holds_one_planted_instance_of_every_rule(planted_day):
    planted = sorted(pattern["rule"] for pattern in planted_day.patterns)
    assert planted == RULE_NAMES
    for pattern in planted_day.patterns:
        assert set(pattern["ids"]) <= planted_day.served_ids


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_rule_finds_its_planted_pattern_with_its_records_as_evidence(
    planted_day, planted_report, rule
):
    (pattern,) = [pattern for pattern in planted_day.patterns if pattern["rule"] == rule]
    finding = _finding_of(planted_report, pattern)
    assert finding is not None, f"{rule} missed {pattern}"
    assert set(pattern["ids"]) <= set(finding.evidence_ids)
    if rule in SINGLE_RECORD_RULES:
        assert finding.evidence_ids == tuple(pattern["ids"])
        assert finding.ip == pattern["ip"]
    first_seen = datetime.strptime(pattern["firstSeen"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert finding.first_seen <= first_seen and finding.summary


def test_extra_evidence_is_the_same_users_activity(planted_day, planted_report):
    """Windowed rules take every record of the user in the window, background ones too."""
    extra = {
        record_id: finding.user
        for finding in planted_report.findings
        for record_id in finding.evidence_ids
    }
    with connect(planted_report.path.parents[3]) as connection:
        users = dict(
            connection.execute(
                "SELECT Id, coalesce(json_extract_string(raw_json, '$.ExchangeMetaData.From'), "
                "CASE WHEN Operation = 'Add member to role.' THEN ObjectId ELSE UserId END) "
                "FROM audit WHERE Id IN ?",
                [list(extra)],
            ).fetchall()
        )
    assert users == extra


def test_nothing_but_the_planted_patterns_is_flagged(planted_day, planted_report):
    explained = [
        finding
        for finding in planted_report.findings
        if any(_finding_of(planted_report, pattern) == finding for pattern in planted_day.patterns)
    ]
    assert len(planted_report.findings) == len(planted_day.patterns) == len(explained)


def test_background_activity_alone_is_never_flagged(background_day, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(background_day.root, root)
    report = detect_day(root, background_day.tenant, background_day.day)
    assert background_day.patterns == ()
    assert report.findings == ()
    assert report.counts_by_rule == dict.fromkeys(RULE_NAMES, 0)
    assert pq.read_table(report.path).schema.equals(FINDINGS_SCHEMA)


def test_findings_are_written_atomically_and_read_back(planted_report):
    assert read_findings(planted_report.path) == list(planted_report.findings)
    assert not list(planted_report.path.parent.glob(".*.tmp"))


def test_a_second_run_of_the_day_has_nothing_new(planted_report, planted_day):
    again = detect_day(planted_report.path.parents[3], planted_day.tenant, planted_day.day)
    assert planted_report.new_high_severity and len(planted_report.new) == 7
    assert again.findings == planted_report.findings
    assert again.new == () and again.new_high_severity == ()


def test_a_rule_without_its_header_is_refused_with_the_fix():
    with pytest.raises(DetectionRuleError, match="no severity, signal in its header"):
        parse_rule("odd.sql", "-- name: odd\n-- description: x\nSELECT 1")


def test_a_rule_with_an_unknown_parameter_is_refused():
    header = "-- name: odd\n-- severity: low\n-- description: d\n-- signal: s\n"
    with pytest.raises(DetectionRuleError, match=r"uses \$window"):
        parse_rule("odd.sql", header + "SELECT $window")


def test_a_rule_returning_other_columns_fails_with_one_line(planted_day, tmp_path):
    header = "-- name: odd\n-- severity: low\n-- description: d\n-- signal: s\n"
    rule = parse_rule("odd.sql", header + "SELECT 1 AS user WHERE $tenant <> ''")
    with pytest.raises(DetectionRuleError, match="must return exactly first_seen, last_seen"):
        detect_day(tmp_path, planted_day.tenant, planted_day.day, rules=[rule])


def test_every_shipped_rule_names_its_microsoft_signal():
    for rule in load_rules():
        assert rule.severity in ("high", "medium") and len(rule.description) > 80
        assert "Microsoft" in rule.signal or "Entra" in rule.signal or "Defender" in rule.signal
