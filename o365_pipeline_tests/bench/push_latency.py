"""`python -m o365_pipeline_tests.bench.push_latency`: latency from a blob becoming available to
its records landing, push (webhook → receiver → sensor → run) against the hourly schedule.

Measured, over real loopback HTTPS: (1) the notification delay of each blob that becomes
available during the measurement (the emulator's clock is set 30 minutes back and then runs
on, so blobs appear at their contentCreated; 60 blobs per hour and content type so a minute
sees several), from its contentCreated to its row in the receiver's log; (2) the duration of
one run of the ingest job the sensor requests, through Dagster.

Computed, for each measured blob created at `c` in the hour window [h, h+1h): push lands at
max(c + delay, h + 1h) + the sensor's interval + the run (a window's partition exists once its
hour is over), or c + delay + interval + run for a late blob whose window is already over; the
schedule lands at its first tick that re-lists the window, h + 1h + lag (its cron minute) +
the run, and a late blob at the next tick if the window is still among the re-listed ones,
else at the late-blob sensor's hourly re-list after its 2-hour settle. Not a test: it asserts
nothing about time; it prints one table and writes JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from pydantic import SecretStr

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator.notifier import NotificationSchedule
from o365_pipeline.cli.webhook_server import WebhookServer
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import build_landing_assets
from o365_pipeline.defs.notifications import NOTIFIED_TAG
from o365_pipeline.defs.partitions import audit_partitions, partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.pipeline.subscriptions import WebhookTarget, ensure_subscriptions
from o365_pipeline.storage.notification_log import NotificationLog
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline.tenants.directory import StaticTenants
from o365_pipeline_tests.emulator_access import api_resource_for, client_for

TENANT = DEMO_TENANTS[0]
AUTH_ID = SecretStr("bench-push-auth-id-0123456789")
MEASURE_SECONDS = 120
SENSOR_INTERVAL = timedelta(seconds=30)  # the sensor's minimum_interval_seconds
SCHEDULE_LAG = timedelta(minutes=15)  # O365_SCHEDULE_LAG_MINUTES default
REWIND = timedelta(minutes=30)


def main() -> int:
    """Measure, compute, print the table and the JSON."""
    with tempfile.TemporaryDirectory(prefix="push-bench-") as folder:
        data_dir = Path(folder)
        config = EmulatorConfig(
            tenants=(TENANT.tenant_id,),
            records_per_hour=600,
            blobs_per_hour=60,
            notifications=NotificationSchedule(),  # the emulator's default: a scan a second
        )
        with start_emulator(config) as emulator:
            delays = _notification_delays(emulator, data_dir)
            run_seconds = _one_ingest_run(emulator, data_dir)
    rows = [_latencies(created, delay, run_seconds) for created, delay in delays]
    result = {
        "blobs_measured": len(rows),
        "notification_delay_s": _summary([delay for _, delay in delays]),
        "run_s": round(run_seconds, 2),
        "on_time_push_min": _summary([row["push"] for row in rows]),
        "on_time_schedule_min": _summary([row["schedule"] for row in rows]),
        "late_blob_push_min": _summary([row["late_push"] for row in rows]),
        "late_blob_schedule_min": _summary([row["late_schedule"] for row in rows]),
    }
    for name, value in result.items():
        print(f"{name:24} {value}")
    print(json.dumps(result))
    return 0


def _notification_delays(emulator, data_dir: Path) -> list[tuple[datetime, float]]:
    """(contentCreated, seconds until recorded) of the blobs that appeared while measuring."""
    ca_dir = emulator.ca_cert_path.parent
    log = NotificationLog.in_data_dir(data_dir)
    server = WebhookServer(
        ("127.0.0.1", 0),
        certificate_file=ca_dir / "server-chain.pem",
        key_file=ca_dir / "server-key.pem",
        auth_id=AUTH_ID,
        notifications=log,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        emulator.clock.set_offset(-REWIND.total_seconds())
        client = client_for(emulator, tenant_id=TENANT.tenant_id)
        target = WebhookTarget(f"{server.url}/o365", AUTH_ID)
        ensure_subscriptions(client, TENANT.name, CONTENT_TYPES, webhook=target)
        client.close()
        began = emulator.clock.now()
        time.sleep(MEASURE_SECONDS)  # a benchmark: blobs appear on the emulator's clock
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    offset = -REWIND
    return [
        (
            row.notification.blob.content_created,
            (row.received_at + offset - row.notification.blob.content_created).total_seconds(),
        )
        for row in log.after(0)
        if row.notification.blob.content_created > began
    ]


def _one_ingest_run(emulator, data_dir: Path) -> float:
    """Seconds of one run of the job the sensor requests (all five content types), for the
    last complete hour, through Dagster.
    """
    emulator.clock.set_offset(0)
    tenants = StaticTenants((TENANT,))
    partitions = audit_partitions((TENANT,))
    assets = [a for k in CONTENT_TYPES for a in build_landing_assets([k], tenants, partitions)]
    resources = {
        "management_api": api_resource_for(emulator, data_dir),
        "storage": StorageResource(data_dir=str(data_dir)),
    }
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with dg.DagsterInstance.ephemeral() as instance:
        began = time.perf_counter()
        dg.materialize(
            assets,
            resources=resources,
            instance=instance,
            partition_key=partition_key_for(TENANT.name, hour),
            tags={NOTIFIED_TAG: "bench"},
        )
        return time.perf_counter() - began


def _latencies(created: datetime, delay: float, run: float) -> dict[str, float]:
    """Minutes from availability to landing, push and schedule, on time and as a late blob."""
    hour_end = created.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    notified = created + timedelta(seconds=delay)
    extra = SENSOR_INTERVAL + timedelta(seconds=run)
    push = max(notified, hour_end) + extra
    schedule = hour_end + SCHEDULE_LAG + timedelta(seconds=run)
    # A late blob: available now in a window that ended 90 minutes ago (still re-listed by the
    # next tick when O365_SCHEDULE_WINDOWS >= 2 and it ended within the last hour, not here).
    late_schedule = timedelta(hours=2, minutes=30)  # next hourly re-list after the 2 h settle
    return {
        "push": _minutes(push - created),
        "schedule": _minutes(schedule - created),
        "late_push": _minutes(notified + extra - created),
        "late_schedule": _minutes(late_schedule + timedelta(seconds=run)),
    }


def _minutes(span: timedelta) -> float:
    return round(span.total_seconds() / 60, 2)


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


if __name__ == "__main__":
    sys.exit(main())
