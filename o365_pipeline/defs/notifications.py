"""The sensor that turns recorded webhook notifications into runs of the ingest job, one per
tenant × hour window they announce blobs in. A tick reads the notification log on disk only
(no API call); the run lists the whole window itself, so the window is complete by listing,
and the hourly schedule stays the safety net for whatever was never notified.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from o365_pipeline.defs.partitions import partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.defs.schedules import tenants_with_partitions
from o365_pipeline.pipeline.notifications import NotificationCursor, notified_windows
from o365_pipeline.storage.notification_log import NotificationLog
from o365_pipeline.tenants.directory import TenantDirectory

NOTIFIED_TAG = "o365/notified_blobs"


def build_notification_sensor(
    ingest_job: dg.UnresolvedAssetJobDefinition,
    directory: TenantDirectory,
    *,
    partition_start: datetime,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """Request the windows that notifications announced blobs in, each set of blobs once.

    The cursor holds the log's sequence number reached and the blobs whose hour has not ended
    (their partition does not exist yet), so each recorded blob is requested once. The run key
    and tag name the window and its announced blobs, so a tick evaluated again after its cursor
    was lost launches nothing twice, and newly announced blobs in a window already landed
    launch it once more.
    """

    @dg.sensor(
        name="webhook_notifications",
        job=ingest_job,
        minimum_interval_seconds=30,
        default_status=default_status,
        description="Push: land the windows webhook notifications announced blobs in.",
    )
    def webhook_notifications(
        context: dg.SensorEvaluationContext, storage: StorageResource
    ) -> dg.SensorResult:
        tenants = tenants_with_partitions(context, directory)
        found = notified_windows(
            NotificationLog.in_data_dir(Path(storage.data_dir).resolve()),
            cursor=NotificationCursor.decode(context.cursor),
            tenants=tenants,
            now=datetime.now(UTC),
            earliest=partition_start,
        )
        requests = []
        for notified in found.ready:
            key = partition_key_for(notified.tenant, notified.window.start)
            announced = f"{key}:{notified.digest}"
            # A tick whose cursor was not saved after it requested runs is evaluated again.
            if context.instance.get_runs(dg.RunsFilter(tags={NOTIFIED_TAG: announced}), limit=1):
                continue
            requests.append(
                dg.RunRequest(
                    run_key=f"notified:{announced}",
                    partition_key=key,
                    tags={NOTIFIED_TAG: announced},
                )
            )
        if found.waiting or found.ignored:
            context.log.info(
                f"{found.waiting} notified blob(s) wait for their hour to end; "
                f"{found.ignored} ignored (unknown tenant, or outside the landable windows)"
            )
        return dg.SensorResult(
            run_requests=requests,
            cursor=found.cursor.encode(),
            skip_reason=None if requests else "no new notified windows",
        )

    return webhook_notifications
