"""Push, end to end over loopback HTTPS: the emulator validates the receiver, then notifies it
as blobs become available; the receiver records them; the sensor requests their windows; the
runs it asks for land exactly the emulator's ground truth, with no schedule tick. A receiver
that is down while notifications are due loses nothing: the emulator's retries deliver once
it is back.

Blobs "become available" by the emulator's clock: the subscription is started while that clock
stands at an hour two hours back, then the clock is brought to the present, so two hours of
blobs turn up at once, as new content does (windows in the past, so their partitions exist).
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from pydantic import SecretStr

from o365_emulator import EmulatorConfig, start_emulator
from o365_emulator.notifier import NotificationSchedule
from o365_pipeline.cli.webhook_server import WebhookServer
from o365_pipeline.content_types import content_type_named
from o365_pipeline.defs.assets import build_landing_assets
from o365_pipeline.defs.notifications import build_notification_sensor
from o365_pipeline.defs.partitions import DEFAULT_START, audit_partitions, partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.pipeline.subscriptions import WebhookTarget, ensure_subscriptions
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.notification_log import NotificationLog
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline.tenants.directory import StaticTenants
from o365_pipeline_tests.emulator_access import api_resource_for, client_for

TENANT = DEMO_TENANTS[0]
KINDS = (content_type_named("Audit.Exchange"), content_type_named("Audit.SharePoint"))
AUTH_ID = SecretStr("push-test-auth-id-0123456789")
# Retries every 0.2 s doubling to 1 s; a webhook is disabled only after 5 minutes of failures.
SCHEDULE = NotificationSchedule(
    scan_seconds=0.1, first_retry_seconds=0.2, max_retry_seconds=1.0, give_up_seconds=300
)
DELIVERY_BUDGET_SECONDS = 90  # a few scans and retries, on a loaded 2-core machine


@contextmanager
def receiving(emulator, data_dir: Path, port: int = 0) -> Iterator[WebhookServer]:
    """`webhook serve` in this process, with a certificate of the emulator's CA."""
    ca_dir = emulator.ca_cert_path.parent
    server = WebhookServer(
        ("127.0.0.1", port),
        certificate_file=ca_dir / "server-chain.pem",
        key_file=ca_dir / "server-key.pem",
        auth_id=AUTH_ID,
        notifications=NotificationLog.in_data_dir(data_dir),
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _subscribe_at(emulator, address: str, hour: datetime) -> None:
    """Start the subscriptions with the webhook while the emulator's clock reads `hour`."""
    emulator.clock.set_offset((hour - datetime.now(UTC)).total_seconds())
    client = client_for(emulator, tenant_id=TENANT.tenant_id)
    try:
        target = WebhookTarget(f"{address}/o365/notifications", AUTH_ID)
        statuses = ensure_subscriptions(client, TENANT.name, KINDS, webhook=target)
        assert all(status.started_now for status in statuses)
    finally:
        client.close()


def _wait_for_every_blob(emulator, data_dir: Path, hour: datetime) -> None:
    """Until the log holds every blob created after `hour` (bounded; polls the file)."""
    wanted = set()
    for kind in KINDS:
        wanted |= {
            spec.content_id
            for spec in emulator.api._listable(
                TENANT.tenant_id, kind.name, hour, hour + timedelta(hours=3)
            )
            if spec.content_created > hour + timedelta(seconds=5)
        }
    log = NotificationLog.in_data_dir(data_dir)
    deadline = time.monotonic() + DELIVERY_BUDGET_SECONDS
    while time.monotonic() < deadline:
        recorded = {row.notification.blob.content_id for row in log.after(0)}
        if wanted <= recorded:
            return
        time.sleep(0.05)
    pytest.fail(f"{len(wanted - recorded)} of {len(wanted)} blobs never notified")


def _land_what_the_sensor_requests(emulator, data_dir: Path) -> list[str]:
    """Evaluate the sensor once, run what it requests, and tick again (nothing twice)."""
    tenants = StaticTenants((TENANT,))
    partitions = audit_partitions((TENANT,))
    assets = [a for kind in KINDS for a in build_landing_assets([kind], tenants, partitions)]
    job = dg.define_asset_job("ingest", selection=dg.AssetSelection.all())
    sensor = build_notification_sensor(job, tenants, partition_start=DEFAULT_START)
    resources = {
        "management_api": api_resource_for(emulator, data_dir, retry_initial_backoff_seconds=0.01),
        "storage": StorageResource(data_dir=str(data_dir)),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        first = sensor(context)
        for request in first.run_requests:
            result = dg.materialize(
                assets,
                resources=resources,
                instance=instance,
                partition_key=request.partition_key,
                tags=request.tags,
            )
            assert result.success
        again = dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        assert sensor(again).run_requests == []  # the same notified blobs never launch twice
    return [str(request.partition_key) for request in first.run_requests]


def _landed_ids(data_dir: Path, kind, hour: datetime) -> set[str]:
    layout = DataLayout(data_dir)
    starts = (hour, hour + timedelta(hours=1))
    files = [str(layout.audit_file(kind.name, TENANT.name, start)) for start in starts]
    with duckdb.connect() as connection:
        rows = connection.execute(f"SELECT Id FROM read_parquet({files!r})").fetchall()
    return {row[0] for row in rows}


def _assert_ground_truth_landed(emulator, data_dir: Path, hour: datetime) -> None:
    for kind in KINDS:
        truth = emulator.ground_truth(TENANT.tenant_id, kind.name, hour, hour + timedelta(hours=2))
        assert truth and _landed_ids(data_dir, kind, hour) == truth, kind.name


def _two_hours_back() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


@pytest.fixture
def notifying_emulator():
    config = EmulatorConfig(
        tenants=(TENANT.tenant_id,), records_per_hour=20, notifications=SCHEDULE
    )
    with start_emulator(config) as running:
        yield running


def test_notified_blobs_land_through_the_sensor_without_a_schedule_tick(
    notifying_emulator, tmp_path
):
    hour = _two_hours_back()
    with receiving(notifying_emulator, tmp_path) as receiver:
        _subscribe_at(notifying_emulator, receiver.url, hour)
        notifying_emulator.clock.set_offset(0)  # two hours of blobs become available
        _wait_for_every_blob(notifying_emulator, tmp_path, hour)
    requested = _land_what_the_sensor_requests(notifying_emulator, tmp_path)
    # The current hour is not over: its partition does not exist yet, so it waits.
    assert sorted(requested) == sorted(
        str(partition_key_for(TENANT.name, start)) for start in (hour, hour + timedelta(hours=1))
    )
    _assert_ground_truth_landed(notifying_emulator, tmp_path, hour)


def test_a_receiver_that_was_down_loses_nothing(notifying_emulator, tmp_path):
    hour = _two_hours_back()
    with receiving(notifying_emulator, tmp_path) as receiver:
        _subscribe_at(notifying_emulator, receiver.url, hour)
        port = receiver.server_address[1]
    notifying_emulator.clock.set_offset(0)  # blobs turn up while nobody listens
    deadline = time.monotonic() + DELIVERY_BUDGET_SECONDS
    while notifying_emulator.api.notifier.pending() == 0 or not _failed_attempts(
        notifying_emulator
    ):
        assert time.monotonic() < deadline, "the emulator never tried the absent receiver"
        time.sleep(0.05)
    assert NotificationLog.in_data_dir(tmp_path).count() == 0
    with receiving(notifying_emulator, tmp_path, port=port):  # back on the same address
        _wait_for_every_blob(notifying_emulator, tmp_path, hour)
    _land_what_the_sensor_requests(notifying_emulator, tmp_path)
    _assert_ground_truth_landed(notifying_emulator, tmp_path, hour)


def _failed_attempts(emulator) -> list[dict]:
    now = emulator.clock.now()
    return [
        entry
        for kind in KINDS
        for entry in emulator.api.notifier.history(
            TENANT.tenant_id, kind.name, now - timedelta(hours=3), now
        )
        if entry["notificationStatus"] == "failed"
    ]
