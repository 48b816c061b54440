import base64
import io
import re
from datetime import UTC, date, datetime

import dagster as dg
from PIL import Image

from o365_pipeline.defs.partitions import daily_partitions, day_partition_key_for
from o365_pipeline.defs.reports import (
    DAILY_REPORT_KEY,
    build_daily_report_asset,
    build_daily_report_job,
    build_daily_report_schedule,
)
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.tenants import DEMO_TENANTS

DATA_IMAGE = re.compile(r"\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)")


def test_daily_report_materializes_with_the_report_as_markdown_and_the_page_as_a_path(
    landed_day,
):
    asset = build_daily_report_asset(daily_partitions(DEMO_TENANTS))
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [asset],
            resources={"storage": StorageResource(data_dir=str(landed_day.root))},
            instance=instance,
            partition_key=day_partition_key_for(landed_day.tenant, landed_day.day),
        )
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata

    assert event.asset_key == DAILY_REPORT_KEY
    assert isinstance(metadata["report"], dg.MarkdownMetadataValue)
    assert isinstance(metadata["path"], dg.PathMetadataValue)
    page = metadata["path"].value
    assert page.endswith(f"tenant={landed_day.tenant}/date={landed_day.day}/report.html")
    markdown = metadata["report"].value
    images = DATA_IMAGE.findall(markdown)
    assert len(images) == 4
    for encoded in images:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            image.verify()
    assert metadata["events"].value > 0
    assert f"{metadata['events'].value} events" in markdown
    assert metadata["ledger_hours_complete"].value == 15
    assert metadata["sign_ins_failed"].value >= 30


def test_the_daily_schedule_requests_yesterdays_report_of_every_tenant():
    job = build_daily_report_job()
    schedule = build_daily_report_schedule(job, DEMO_TENANTS)
    defs = dg.Definitions(
        assets=[build_daily_report_asset(daily_partitions(DEMO_TENANTS))],
        jobs=[job],
        schedules=[schedule],
        resources={"storage": StorageResource()},
    )
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 25, 4, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )

    requests = list(schedule.evaluate_tick(context).run_requests)

    assert schedule.cron_schedule == "0 4 * * *"
    assert [request.partition_key for request in requests] == [
        str(day_partition_key_for(tenant.name, date(2026, 11, 24))) for tenant in DEMO_TENANTS
    ]
