"""The late-blob sensor has recent windows re-listed by a run (its ticks call no API) and
re-materializes exactly the partitions that gained late blobs, again after a failed re-run."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_emulator import (
    EmulatorConfig,
    start_emulator,
)
from o365_emulator.fault_rules import make_rule
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import (
    build_landing_assets,
    build_subscriptions_asset,
    listing_key,
)
from o365_pipeline.defs.partitions import audit_partitions, partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.defs.sensors import build_late_blob_sensor
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline.tenants.directory import StaticTenants
from o365_pipeline_tests.emulator_access import api_resource_for

TENANT = DEMO_TENANTS[0]


def test_only_windows_that_gained_late_blobs_are_requested_again(tmp_path):
    tenants = StaticTenants((TENANT,))
    partitions = audit_partitions((TENANT,))
    assets = [
        build_subscriptions_asset(tenants),
        *[
            asset
            for kind in CONTENT_TYPES
            for asset in build_landing_assets([kind], tenants, partitions)
        ],
    ]
    ingest = dg.define_asset_job(
        "ingest", selection=dg.AssetSelection.all() - dg.AssetSelection.assets("subscriptions")
    )
    relist = dg.define_asset_job(
        "relist", selection=dg.AssetSelection.assets(*[listing_key(kind) for kind in CONTENT_TYPES])
    )
    sensor = build_late_blob_sensor(
        ingest, relist, tenants, lookback=timedelta(hours=6), settle=timedelta(hours=2)
    )
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    late, on_time = hour - timedelta(hours=3), hour - timedelta(hours=4)
    with start_emulator(EmulatorConfig(tenants=(TENANT.tenant_id,), records_per_hour=20)) as api:
        resources = {
            "management_api": api_resource_for(api, tmp_path, retry_initial_backoff_seconds=0.01),
            "storage": StorageResource(data_dir=str(tmp_path)),
        }

        def materialize(window, **options):
            return dg.materialize(
                assets[1:],
                resources=resources,
                instance=instance,
                partition_key=partition_key_for(TENANT.name, window),
                **options,
            )

        def requests(job):
            context = dg.build_sensor_context(instance=instance, resources=resources)
            return [request for request in sensor(context) or [] if request.job_name == job]

        def relist():
            (request,) = requests("relist")
            before = len(api.requests())
            result = dg.materialize(
                assets[1:],
                selection=[listing_key(kind) for kind in CONTENT_TYPES],
                resources=resources,
                instance=instance,
                tags=request.tags,
            )
            assert result.success
            return before

        with dg.DagsterInstance.ephemeral() as instance:
            dg.materialize(assets[:1], resources=resources, instance=instance)
            materialize(on_time)
            api.add_faults(make_rule("late_blob", count="all"))
            materialize(late)  # its first listing misses each content type's newest blob
            # A tick calls no API: it compares files and asks for a listing run.
            before = len(api.requests())
            assert requests("ingest") == []
            assert len(api.requests()) == before
            listed_before = relist()
            listings = [
                request
                for request in api.requests()[listed_before:]
                if request.path.endswith("/subscriptions/content")
            ]
            assert len(listings) >= 6 * len(CONTENT_TYPES)  # every window of the lookback
            first = requests("ingest")
            assert [request.partition_key for request in first] == [
                partition_key_for(TENANT.name, late)
            ]
            # The re-run fails (every blob body is invalid): a later tick asks again, with a new
            # run key, since Dagster would skip the one it has already seen.
            api.clear_faults()
            api.add_faults(make_rule("invalid_json", count="all"))
            failed = materialize(late, tags=first[0].tags, raise_on_error=False)
            assert not failed.success
            second = requests("ingest")
            assert [request.partition_key for request in second] == [first[0].partition_key]
            assert second[0].run_key != first[0].run_key
            api.clear_faults()
            materialize(late)  # the re-run lands them
            assert requests("ingest") == []
