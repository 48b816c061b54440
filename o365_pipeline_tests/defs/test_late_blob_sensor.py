"""The relist sensor re-materializes exactly the partitions that gained late blobs."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_emulator import (
    EmulatorConfig,
    start_emulator,
)
from o365_emulator.fault_rules import make_rule
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import build_content_type_assets, build_subscriptions_asset
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
            for asset in build_content_type_assets(kind, tenants, partitions)
        ],
    ]
    job = dg.define_asset_job(
        "ingest", selection=dg.AssetSelection.all() - dg.AssetSelection.assets("subscriptions")
    )
    sensor = build_late_blob_sensor(
        job, tenants, lookback=timedelta(hours=6), settle=timedelta(hours=2)
    )
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    late, on_time = hour - timedelta(hours=3), hour - timedelta(hours=4)
    with start_emulator(EmulatorConfig(tenants=(TENANT.tenant_id,), records_per_hour=20)) as api:
        resources = {
            "management_api": api_resource_for(api, tmp_path),
            "storage": StorageResource(data_dir=str(tmp_path)),
        }

        def materialize(window):
            return dg.materialize(
                assets[1:],
                resources=resources,
                instance=instance,
                partition_key=partition_key_for(TENANT.name, window),
            )

        def requests():
            context = dg.build_sensor_context(instance=instance, resources=resources)
            return list(sensor(context) or [])

        def evaluate():
            return [request.partition_key for request in requests()]

        with dg.DagsterInstance.ephemeral() as instance:
            dg.materialize(assets[:1], resources=resources, instance=instance)
            materialize(on_time)
            api.add_faults(make_rule("late_blob", count="all"))
            materialize(late)  # its first listing misses each content type's newest blob
            requested = evaluate()
            assert requested == [partition_key_for(TENANT.name, late)]
            first = requests()[0]
            # The re-run fails (every blob body is invalid): a later tick asks again, with a new
            # run key, since Dagster would skip the one it has already seen.
            api.clear_faults()
            api.add_faults(make_rule("invalid_json", count="all"))
            failed = dg.materialize(
                assets[1:],
                resources=resources,
                instance=instance,
                partition_key=first.partition_key,
                tags=first.tags,
                raise_on_error=False,
            )
            assert not failed.success
            second = requests()
            assert [request.partition_key for request in second] == [first.partition_key]
            assert second[0].run_key != first.run_key
            api.clear_faults()
            materialize(late)  # the re-run lands them
            assert evaluate() == []
