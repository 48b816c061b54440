"""Publishing to object storage, end to end: a local S3-compatible server (moto) started by the
test, partitions materialized through Dagster, every committed file uploaded, and DuckDB
reading the bucket (with the local copies gone) equal to the emulator's ground truth."""

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import s3fs
from moto.server import ThreadedMotoServer

from o365_emulator import (
    EmulatorConfig,
    start_emulator,
)
from o365_pipeline.api.windows import Window
from o365_pipeline.content_types import content_type_named
from o365_pipeline.defs.assets import (
    audit_key,
    build_landing_assets,
    build_subscriptions_asset,
    listing_key,
)
from o365_pipeline.defs.partitions import audit_partitions, partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.pipeline.publishing import WindowCopies
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.object_store import ObjectStore, ObjectStoreError
from o365_pipeline.storage.partition_writer import AuditPartitionWriter
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.damage import truncate
from o365_pipeline_tests.emulator_access import api_resource_for

TENANT = DEMO_TENANTS[0]
STOP_SECONDS = 30
EXCHANGE = content_type_named("Audit.Exchange")


@pytest.fixture
def s3(monkeypatch):
    """A local S3-compatible endpoint with an empty bucket `lake`."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"client_kwargs": {"endpoint_url": f"http://{host}:{port}"}}
    filesystem = s3fs.S3FileSystem(**options)
    if not filesystem.exists("lake"):  # moto keeps its state per process, across servers
        filesystem.call_s3("create_bucket", Bucket="lake")
    yield options
    # Bounded: werkzeug's shutdown waits for its serve loop, which has been seen to hang on a
    # loaded machine with a client connection still open; a stuck stop must not stall the suite.
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(STOP_SECONDS)


def test_partitions_are_published_and_duckdb_reads_them_from_the_bucket(s3, tmp_path):
    prefix = f"s3://lake/{tmp_path.name}"
    tenants = (TENANT,)
    partitions = audit_partitions(tenants)
    assets = [
        build_subscriptions_asset(tenants),
        *build_landing_assets([EXCHANGE], tenants, partitions),
    ]
    windows = [
        datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
        for hours in (2, 3)
    ]
    storage = StorageResource(
        data_dir=str(tmp_path),
        object_store_url=prefix,
        object_store_options=json.dumps(s3),
    )
    with start_emulator(EmulatorConfig(tenants=(TENANT.tenant_id,), records_per_hour=30)) as api:
        resources = {
            "management_api": api_resource_for(api, tmp_path),
            "storage": storage,
        }
        with dg.DagsterInstance.ephemeral() as instance:
            dg.materialize(assets[:1], resources=resources, instance=instance)
            results = [
                dg.materialize(
                    assets[1:],
                    resources=resources,
                    instance=instance,
                    partition_key=partition_key_for(TENANT.name, window),
                )
                for window in windows
            ]
        truth = {
            record_id
            for window in windows
            for record_id in api.ground_truth(
                TENANT.tenant_id, EXCHANGE.name, window, window + timedelta(hours=1)
            )
        }

    published = [
        url
        for result in results
        for event in result.get_asset_materialization_events()
        for url in event.materialization.metadata["published_to"].value
    ]
    assert any(url.endswith("/part.parquet") for url in published)
    assert any(url.endswith("/ledger.parquet") for url in published)
    assert all(url.startswith(f"{prefix}/") for url in published)

    shutil.rmtree(tmp_path / "audit")  # what follows can only come from the bucket
    store = ObjectStore(prefix, s3)
    with connect(tmp_path, store=store) as connection:
        ids = {row[0] for row in connection.execute("SELECT Id FROM audit_exchange").fetchall()}
        ledger = connection.execute("SELECT DISTINCT status FROM ledger").fetchall()
    assert ids == truth and truth
    assert ledger == [("complete",)]


def test_a_failed_upload_fails_the_partition_naming_the_store_and_the_fix(s3, tmp_path):
    store = ObjectStore("s3://no-such-bucket/o365", s3)
    window = datetime(2026, 11, 25, 9, tzinfo=UTC)
    layout = DataLayout(tmp_path)
    committed = layout.audit_file(EXCHANGE.name, TENANT.name, window)
    committed.parent.mkdir(parents=True)
    committed.write_bytes(b"PAR1")
    copies = WindowCopies(
        store, layout, EXCHANGE.name, TENANT.name, Window(window, window + timedelta(hours=1))
    )
    with pytest.raises(ObjectStoreError, match=r"s3://no-such-bucket/o365.*re-materialize"):
        copies.publish()


def test_a_step_on_another_machine_fetches_the_earlier_steps_files_from_the_bucket(s3, tmp_path):
    """The listing is written on one machine, the audit step runs on another whose local
    folder is empty (a Kubernetes pod, say): it fetches the listing from the bucket."""
    tenants = (TENANT,)
    (landing,) = build_landing_assets([EXCHANGE], tenants, audit_partitions(tenants))
    window = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    key = partition_key_for(TENANT.name, window)
    prefix = f"s3://lake/{tmp_path.name}"

    def storage(folder):
        return StorageResource(
            data_dir=str(folder),
            object_store_url=prefix,
            object_store_options=json.dumps(s3),
        )

    with start_emulator(EmulatorConfig(tenants=(TENANT.tenant_id,), records_per_hour=30)) as api:
        management_api = api_resource_for(api, tmp_path)
        with dg.DagsterInstance.ephemeral() as instance:
            dg.materialize(
                [build_subscriptions_asset(tenants)],
                resources={"management_api": management_api, "storage": storage(tmp_path / "a")},
                instance=instance,
            )
            dg.materialize(
                [landing],
                selection=[listing_key(EXCHANGE)],
                resources={"management_api": management_api, "storage": storage(tmp_path / "a")},
                instance=instance,
                partition_key=key,
            )
            other = tmp_path / "b"
            result = dg.materialize(
                [landing],
                selection=[audit_key(EXCHANGE)],
                resources={"management_api": management_api, "storage": storage(other)},
                instance=instance,
                partition_key=key,
            )
        truth = api.ground_truth(
            TENANT.tenant_id, EXCHANGE.name, window, window + timedelta(hours=1)
        )
    assert result.success
    assert list(other.glob("listings/**/listing.parquet")), "the listing came from the bucket"
    with connect(tmp_path, store=ObjectStore(prefix, s3)) as connection:
        ids = {row[0] for row in connection.execute("SELECT Id FROM audit_exchange").fetchall()}
    assert ids == truth and truth


def test_a_damaged_object_in_the_bucket_is_left_out_and_named_by_its_url(s3, tmp_path):
    prefix = f"s3://lake/{tmp_path.name}"
    store = ObjectStore(prefix, s3)
    layout = DataLayout(tmp_path)
    hours = [datetime(2026, 11, 25, 9, tzinfo=UTC) + timedelta(hours=n) for n in (0, 1)]
    files = []
    for hour, record_id in zip(hours, ("kept", "lost"), strict=True):
        path = layout.audit_file(EXCHANGE.name, TENANT.name, hour)
        batch = records_table(
            [{"Id": record_id, "CreationTime": "2026-11-25T08:30:00"}],
            tenant=TENANT.name,
            content_type=EXCHANGE.name,
            content_id=f"blob-{hour:%H}",
            content_created=hour,
            ingested_at=hour,
        )
        with AuditPartitionWriter(path) as writer:
            writer.write(batch)
            writer.commit()
        files.append(path)
    truncate(files[1])
    store.publish(tmp_path, files)
    shutil.rmtree(tmp_path / "audit")

    skipped = []
    with connect(tmp_path, store=store, on_damaged=skipped.append) as connection:
        ids = connection.execute("SELECT Id FROM audit_exchange").fetchall()
    assert ids == [("kept",)]
    relative = files[1].relative_to(tmp_path).as_posix()
    assert [damaged.path for damaged in skipped] == [f"{prefix}/{relative}"]
