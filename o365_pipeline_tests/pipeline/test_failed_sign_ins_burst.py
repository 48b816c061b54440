"""What counts as a burst for `failed_sign_ins_then_success`: six failures of one account within
15 minutes, not a busy account's failures chained by short gaps over a longer time."""

from datetime import UTC, datetime, timedelta

from o365_pipeline.detections import load_rules
from o365_pipeline.pipeline.detections import detect_day
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.partition_writer import AuditPartitionWriter

HOUR = datetime(2026, 11, 25, 10, tzinfo=UTC)
(RULE,) = [rule for rule in load_rules() if rule.name == "failed_sign_ins_then_success"]


def _sign_in(number: int, at: datetime, *, failed: bool) -> dict:
    return {
        "Id": f"sign-in-{number}",
        "CreationTime": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "RecordType": 15,
        "Workload": "AzureActiveDirectory",
        "Operation": "UserLoginFailed" if failed else "UserLoggedIn",
        "UserId": "megan.b@contoso.onmicrosoft.com",
        "ClientIP": "192.0.2.250",
    }


def _findings(tmp_path, failure_spacing: timedelta):
    """Six failures `failure_spacing` apart, then a success a minute after the last."""
    records = [_sign_in(n, HOUR + n * failure_spacing, failed=True) for n in range(6)]
    records.append(_sign_in(6, HOUR + 5 * failure_spacing + timedelta(minutes=1), failed=False))
    batch = records_table(
        records,
        tenant="contoso",
        content_type="Audit.AzureActiveDirectory",
        content_id="blob",
        content_created=HOUR + timedelta(hours=1),
        ingested_at=HOUR + timedelta(hours=1),
    )
    path = DataLayout(tmp_path).audit_file("Audit.AzureActiveDirectory", "contoso", HOUR)
    with AuditPartitionWriter(path) as writer:
        writer.write(batch)
        writer.commit()
    return detect_day(tmp_path, "contoso", HOUR.date(), rules=[RULE]).findings


def test_six_failures_within_fifteen_minutes_then_a_success_is_a_finding(tmp_path):
    (finding,) = _findings(tmp_path, timedelta(minutes=2))
    assert finding.evidence_ids == tuple(f"sign-in-{n}" for n in range(7))
    assert finding.summary.startswith("6 failed sign-ins in 10 min")


def test_six_failures_five_minutes_apart_are_no_burst(tmp_path):
    """25 minutes from first to last: every gap is short, but no 15 minutes hold six."""
    assert _findings(tmp_path, timedelta(minutes=5)) == ()
