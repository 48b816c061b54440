"""The demo's comparison of findings with the emulator's planted patterns, and its summary
lines (pure logic: findings and patterns built here)."""

from datetime import UTC, date, datetime

from o365_pipeline.cli.demo_detections import (
    compare_with_planted,
    detection_days,
    say_findings,
)
from o365_pipeline.pipeline.detections import Finding

DAY = date(2026, 11, 25)


def _finding(rule, user, ids, tenant="contoso"):
    at = datetime(2026, 11, 25, 9, tzinfo=UTC)
    return Finding(rule, "high", tenant, DAY, at, at, user, None, tuple(ids), f"{rule} seen")


def _pattern(rule, user, ids, tenant="contoso"):
    return {"rule": rule, "user": user, "ids": list(ids), "tenant": tenant}


def test_a_found_pattern_and_nothing_else_matches():
    landed = {("contoso", "a"), ("contoso", "b"), ("contoso", "c")}
    check = compare_with_planted(
        [_finding("burst", "u1", ["a", "b", "c"])], [_pattern("burst", "u1", ["a", "b"])], landed
    )
    assert check.matches and check.planted == 1


def test_a_landed_pattern_without_its_finding_is_missed():
    landed = {("contoso", "a")}
    check = compare_with_planted([], [_pattern("consent", "u1", ["a"])], landed)
    assert not check.matches and [p["rule"] for p in check.missed] == ["consent"]


def test_a_finding_of_another_rule_or_user_is_unexplained():
    landed = {("contoso", "a")}
    planted = [_pattern("consent", "u1", ["a"])]
    for finding in (_finding("burst", "u1", ["a"]), _finding("consent", "u2", ["a"])):
        check = compare_with_planted([finding, _finding("consent", "u1", ["a"])], planted, landed)
        assert check.unexplained == (finding,) and not check.missed


def test_a_pattern_only_partly_landed_explains_its_finding_but_is_not_required():
    """A re-delivery can carry one record of the hour before the first window into it."""
    landed = {("contoso", "b")}
    planted = [_pattern("forwarding", "u1", ["b"]), _pattern("burst", "u2", ["x", "y", "b2"])]
    landed.add(("contoso", "y"))
    check = compare_with_planted([_finding("forwarding", "u1", ["b"])], planted, landed)
    assert check.matches and check.planted == 1


def test_findings_outside_the_windows_are_not_compared():
    check = compare_with_planted([_finding("burst", "u1", ["old"])], [], {("contoso", "a")})
    assert check.matches


def test_the_summary_prints_one_line_per_rule_with_its_count():
    lines = []
    findings = [_finding("burst", "u1", ["a"]), _finding("burst", "u2", ["b"])]
    say_findings(findings, ["burst", "consent"], lines.append)
    assert lines[:3] == [
        "Detections (findings by rule):",
        f"  {'burst':<31} 2",
        f"  {'consent':<31} 0",
    ]
    assert lines[3] == "  [high] contoso burst: burst seen"


def test_a_window_after_midnight_also_runs_the_day_before():
    windows = [datetime(2026, 11, 26, 0, tzinfo=UTC), datetime(2026, 11, 26, 5, tzinfo=UTC)]
    assert detection_days(windows) == [date(2026, 11, 25), date(2026, 11, 26)]
