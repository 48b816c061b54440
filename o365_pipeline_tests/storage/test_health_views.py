"""`ledger_with_health`: each incomplete or late ledger hour beside the service health issues
open for its workload then.

The planted overlap: the emulator starts an Exchange Online issue at least once in every 96
hours (`o365_emulator.service_health`), so the tenant's newest one that started between six days
and two hours ago always exists; its start hour H is listable (within the 7-day retention) and
complete. The emulator's `late_blob` fault hides H's newest Audit.Exchange blob from H's first
listing; H is ingested from that listing, then listed again (the blob is there now), so the
listing check finds a blob not in the partition: H is late, and the issue was open during H."""

from datetime import UTC, datetime, timedelta

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator.fault_rules import make_rule
from o365_pipeline.api.service_communications import ServiceCommunicationsClient
from o365_pipeline.api.windows import Window
from o365_pipeline.pipeline.audit_table import ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.pipeline.service_health import land_service_health
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import LedgerEntry, write_ledger
from o365_pipeline.storage.service_health_issues import issues_file, write_issues
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import client_for

TENANT = DEMO_TENANTS[0]
EXCHANGE = "Audit.Exchange"


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def test_a_late_exchange_hour_shows_beside_the_exchange_issue_open_then(tmp_path):
    layout = DataLayout(tmp_path)
    with start_emulator(EmulatorConfig(records_per_hour=12)) as emulator:
        now = emulator.clock.now()
        planned = emulator.service_health.planned(
            TENANT.tenant_id, now - timedelta(days=6), now - timedelta(hours=2)
        )
        issue = [item for item in planned if item.workload.service == "Exchange Online"][-1]
        window = Window(_hour(issue.start), _hour(issue.start) + timedelta(hours=1))
        client = client_for(emulator, tenant_id=TENANT.tenant_id, graph_base_url=emulator.base_url)
        client.start_subscription(EXCHANGE)
        emulator.add_faults(make_rule("late_blob", count="all"))
        first = list_window(
            client, layout, tenant=TENANT.name, content_type=EXCHANGE, window=window, now=now
        )
        ingest_window(
            client,
            layout,
            tenant=TENANT.name,
            content_type=EXCHANGE,
            window=window,
            clock=emulator.clock.now,
        )
        again = list_window(
            client, layout, tenant=TENANT.name, content_type=EXCHANGE, window=window, now=now
        )
        land_service_health(
            ServiceCommunicationsClient(client.settings),
            tmp_path,
            tenant=TENANT.name,
            clock=emulator.clock.now,
        )
    assert len(again.blobs) == len(first.blobs) + 1 and len(again.not_in_partition) == 1
    with connect(tmp_path) as connection:
        rows = connection.execute(
            "SELECT content_type, window_start, trouble, blobs_not_in_partition, issue_id, "
            "service FROM ledger_with_health WHERE tenant = ?",
            [TENANT.name],
        ).fetchall()
    assert (EXCHANGE, window.start, "late", 1, issue.issue_id, "Exchange Online") in rows
    assert {row[4] for row in rows} <= {
        item.issue_id for item in planned if item.workload.service == "Exchange Online"
    }


HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)


def _ledger(layout, content_type, status, hour=HOUR):
    entry = LedgerEntry(
        tenant=TENANT.name,
        content_type=content_type,
        window_start=hour,
        window_end=hour + timedelta(hours=1),
        blobs_listed=2,
        blobs_fetched=1 if status != "complete" else 2,
        blobs_failed=1 if status != "complete" else 0,
        blobs_expired=0,
        records_read=10,
        duplicates_dropped=0,
        records_written=10,
        bytes_written=100,
        started_at=hour,
        finished_at=hour,
        status=status,
    )
    write_ledger(layout.ledger_file(content_type, TENANT.name, hour), entry, [])


def _issue(issue_id, service, start, end=None):
    return {
        "tenant": TENANT.name,
        "id": issue_id,
        "title": "t",
        "service": service,
        "feature": None,
        "featureGroup": None,
        "classification": "incident",
        "status": "serviceRestored" if end else "serviceDegradation",
        "origin": "microsoft",
        "impactDescription": "i",
        "isResolved": end is not None,
        "startDateTime": start,
        "endDateTime": end,
        "lastModifiedDateTime": end or start,
        "posts": "[]",
        "details": "[]",
        "raw": "{}",
        "fetched_at": HOUR,
    }


def test_only_troubled_hours_show_each_with_the_issues_of_its_own_workload(tmp_path):
    layout = DataLayout(tmp_path)
    _ledger(layout, "Audit.SharePoint", "incomplete")
    _ledger(layout, "Audit.Exchange", "complete")
    _ledger(layout, "DLP.All", "complete_with_loss")
    _ledger(layout, "Audit.AzureActiveDirectory", "incomplete")
    issues = [
        _issue("SP1", "SharePoint Online", HOUR - timedelta(hours=3)),  # still open
        _issue("EX1", "Exchange Online", HOUR, HOUR + timedelta(minutes=30)),
        _issue("SP2", "SharePoint Online", HOUR - timedelta(days=1), HOUR - timedelta(hours=1)),
        _issue("ID1", "Microsoft Entra", HOUR + timedelta(minutes=50)),
    ]
    write_issues(issues_file(tmp_path, TENANT.name), issues, HOUR)
    with connect(tmp_path) as connection:
        rows = connection.execute(
            "SELECT content_type, trouble, issue_id FROM ledger_with_health "
            "ORDER BY content_type, issue_id"
        ).fetchall()
        issue_count = connection.execute("SELECT count(*) FROM service_health_issues").fetchone()
    assert rows == [
        ("Audit.AzureActiveDirectory", "incomplete", "ID1"),
        ("Audit.SharePoint", "incomplete", "SP1"),
        ("DLP.All", "incomplete", "EX1"),  # DLP events come from every workload
        ("DLP.All", "incomplete", "ID1"),
        ("DLP.All", "incomplete", "SP1"),
    ]
    assert issue_count == (4,)


def test_a_troubled_hour_without_any_issue_shows_once_with_empty_issue_columns(tmp_path):
    _ledger(DataLayout(tmp_path), "Audit.General", "incomplete")
    with connect(tmp_path) as connection:
        rows = connection.execute("SELECT trouble, issue_id FROM ledger_with_health").fetchall()
    assert rows == [("incomplete", None)]
