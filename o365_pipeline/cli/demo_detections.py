"""The demo's detections: run the `detections` asset for the days its windows touch, print the
findings by rule, and compare them with what the emulator says it planted.

The days are the events' days: a window's records were created up to two hours before it, so
the day before the first window is run too when those hours cross midnight. The comparison
covers the patterns planted in the demo's windows (and the hour before them, since a
re-delivery can carry one of its records into the first window): each one whose records all
landed must be found by its rule, and every finding with evidence in the windows must be one
of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg

from o365_pipeline.cli.backfill import QUIET_RUN_CONFIG
from o365_pipeline.defs.detections import DETECTIONS_JOB_NAME
from o365_pipeline.defs.partitions import day_partition_key_for
from o365_pipeline.pipeline.detections import Finding, read_findings
from o365_pipeline.storage.layout import DataLayout

EVENTS_BEFORE_WINDOW = timedelta(hours=2)


@dataclass(frozen=True)
class DetectionsCheck:
    """The demo's findings against the emulator's planted patterns."""

    planted: int
    missed: tuple[dict, ...]
    unexplained: tuple[Finding, ...]

    @property
    def matches(self) -> bool:
        """Every fully landed pattern found, and nothing flagged that was not planted."""
        return not self.missed and not self.unexplained


def detection_days(windows: Sequence[datetime]) -> list[date]:
    """The UTC days holding the events of `windows`."""
    days = {window.date() for window in windows}
    days |= {(window - EVENTS_BEFORE_WINDOW).date() for window in windows}
    return sorted(days)


def run_detections(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    tenants: Iterable[str],
    days: Sequence[date],
    say: Callable[[str], None],
) -> None:
    """Materialize the `detections` asset for every tenant × day (Dagster runs, in the UI)."""
    job = defs.resolve_job_def(DETECTIONS_JOB_NAME)
    for tenant in tenants:
        for day in days:
            say(f"Running the detection rules for {tenant} {day} …")
            job.execute_in_process(
                partition_key=day_partition_key_for(tenant, day),
                instance=instance,
                run_config=QUIET_RUN_CONFIG,
            )


def findings_of(data_dir: Path, tenants: Iterable[str], days: Sequence[date]) -> list[Finding]:
    """The findings kept for those tenant-days."""
    layout = DataLayout(data_dir)
    return [
        finding
        for tenant in tenants
        for day in days
        for finding in read_findings(layout.findings_file(tenant, day))
    ]


def say_findings(
    findings: Sequence[Finding], rules: Sequence[str], say: Callable[[str], None]
) -> None:
    """One line per rule with its count, then the findings themselves (at most 12)."""
    say("Detections (findings by rule):")
    for rule in rules:
        count = sum(finding.rule == rule for finding in findings)
        say(f"  {rule:<31} {count}")
    for finding in findings[:12]:
        say(f"  [{finding.severity}] {finding.tenant} {finding.rule}: {finding.summary}")


def compare_with_planted(
    findings: Sequence[Finding], planted: Sequence[dict], landed: set[tuple[str, str]]
) -> DetectionsCheck:
    """`planted`: the emulator's patterns (with `tenant`, the customer name, added);
    `landed`: the (tenant, Id) the demo's windows hold.
    """
    complete = [p for p in planted if all((p["tenant"], i) in landed for i in p["ids"])]
    seen = [p for p in planted if any((p["tenant"], i) in landed for i in p["ids"])]
    in_windows = [
        finding
        for finding in findings
        if any((finding.tenant, record_id) in landed for record_id in finding.evidence_ids)
    ]
    missed = tuple(p for p in complete if not any(_shows(f, p) for f in in_windows))
    unexplained = tuple(f for f in in_windows if not any(_shows(f, p) for p in seen))
    return DetectionsCheck(len(complete), missed, unexplained)


def say_comparison(check: DetectionsCheck, say: Callable[[str], None]) -> None:
    """The verdict on the detections, with what differs."""
    say(
        f"Emulator planted {check.planted} attack pattern(s) in these windows; missed: "
        f"{len(check.missed)}; flagged without a planted pattern: {len(check.unexplained)}."
    )
    for pattern in check.missed[:5]:
        say(f"  missed: {pattern['tenant']} {pattern['rule']} {pattern['user']}")
    for finding in check.unexplained[:5]:
        say(f"  unexplained: {finding.tenant} {finding.rule}: {finding.summary}")


def _shows(finding: Finding, pattern: dict) -> bool:
    return (
        finding.tenant == pattern["tenant"]
        and finding.rule == pattern["rule"]
        and finding.user == pattern["user"]
        and bool(set(finding.evidence_ids) & set(pattern["ids"]))
    )
