"""A landed UTC day for the report tests: three hours of all five content types of one tenant,
listed and ingested from the emulator over loopback HTTPS with the same use cases the audit
assets call, plus one hour of hostile records (HTML, Markdown and mathtext in user names,
addresses, workloads and DLP policy names) written through the partition writer. Landed once
per session; the report tests only add files under `reports/`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from o365_emulator import EmulatorConfig, start_emulator
from o365_pipeline.api.windows import Window
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.pipeline.audit_table import ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.partition_writer import AuditPartitionWriter
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import client_for

CONTOSO = DEMO_TENANTS[0]
LANDED_HOURS = (10, 11, 12)
HOSTILE_HOUR = 13
HOSTILE_USER = '<script>alert("user")</script>'
HOSTILE_ADDRESS = '"><img src=x onerror=alert(1)>'
HOSTILE_WORKLOAD = "_<b>$\\frac{1}{0}$</b> | [x](javascript:alert(2))"
HOSTILE_POLICY = "<iframe src=javascript:alert(3)></iframe>"
HOSTILE_RULE = "**bold** | ![img](data:text/html,<script>alert(4)</script>)"


@dataclass(frozen=True)
class LandedDay:
    """A data folder holding part of one tenant's UTC day."""

    root: Path
    tenant: str
    day: date

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.root)

    def hour(self, hour: int) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, hour, tzinfo=UTC)


def _hostile_records(day: date) -> dict[str, list[dict]]:
    at = f"{day.isoformat()}T{HOSTILE_HOUR:02d}:15:00"
    sign_ins = [
        {
            "Id": f"hostile-sign-in-{index}",
            "CreationTime": at,
            "RecordType": 15,
            "Workload": "AzureActiveDirectory",
            "Operation": "UserLoginFailed",
            "UserId": HOSTILE_USER,
            "ClientIP": HOSTILE_ADDRESS,
        }
        for index in range(30)  # a spray: among the top users and addresses
    ]
    sign_ins.append(
        {
            "Id": "hostile-workload",
            "CreationTime": at,
            "Workload": HOSTILE_WORKLOAD,
            "Operation": "x",
        }
    )
    dlp = [
        {
            "Id": "hostile-dlp",
            "CreationTime": at,
            "RecordType": 13,
            "Workload": "Exchange",
            "Operation": "DlpRuleMatch",
            "UserId": "DlpAgent",
            "PolicyDetails": [
                {"PolicyName": HOSTILE_POLICY, "Rules": [{"RuleName": HOSTILE_RULE, "Severity": 9}]}
            ],
        },
        {  # PolicyDetails of the wrong shape: no rule, and the report still renders
            "Id": "odd-dlp",
            "CreationTime": at,
            "Workload": "Exchange",
            "Operation": "DLPRuleMatch",
            "PolicyDetails": "not a list",
        },
    ]
    return {"Audit.AzureActiveDirectory": sign_ins, "DLP.All": dlp}


def _write_hostile_hour(layout: DataLayout, tenant: str, hour: datetime) -> None:
    for content_type, records in _hostile_records(hour.date()).items():
        batch = records_table(
            records,
            tenant=tenant,
            content_type=content_type,
            content_id=f"hostile-{content_type}",
            content_created=hour,
            ingested_at=hour,
        )
        with AuditPartitionWriter(layout.audit_file(content_type, tenant, hour)) as writer:
            writer.write(batch)
            writer.commit()


@pytest.fixture(scope="session")
def landed_day(tmp_path_factory) -> LandedDay:
    """Yesterday (UTC) 10:00-13:00 of contoso: inside the API's 7 days whenever tests run."""
    root = tmp_path_factory.mktemp("landed_day")
    day = datetime.now(UTC).date() - timedelta(days=1)
    landed = LandedDay(root, CONTOSO.name, day)
    with start_emulator(EmulatorConfig(records_per_hour=30)) as emulator:
        client = client_for(emulator, tenant_id=CONTOSO.tenant_id)
        for content_type in CONTENT_TYPES:
            client.start_subscription(content_type.name)
            for hour in LANDED_HOURS:
                start = landed.hour(hour)
                where = dict(
                    tenant=CONTOSO.name,
                    content_type=content_type.name,
                    window=Window(start, start + timedelta(hours=1)),
                )
                list_window(client, landed.layout, **where, now=datetime.now(UTC))
                ingest_window(client, landed.layout, **where, clock=lambda: datetime.now(UTC))
        client.close()
    _write_hostile_hour(landed.layout, CONTOSO.name, landed.hour(HOSTILE_HOUR))
    return landed
