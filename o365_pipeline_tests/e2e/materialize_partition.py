"""Materialize one Audit.Exchange partition through Dagster in its own process (the tests kill
it mid-partition, or run two at once). Usage:
python -m o365_pipeline_tests.e2e.materialize_partition BASE_URL CA_FILE DATA_DIR WINDOW_ISO
"""

import sys
from datetime import datetime

import dagster as dg

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_pipeline.content_types import content_type_named
from o365_pipeline.defs.assets import build_landing_assets
from o365_pipeline.defs.partitions import audit_partitions, partition_key_for
from o365_pipeline.defs.resources import ManagementApiResource, StorageResource
from o365_pipeline.tenants import DEMO_TENANTS

TENANT = DEMO_TENANTS[0]


def main(base_url: str, ca_file: str, data_dir: str, window_iso: str) -> int:
    tenants = (TENANT,)
    assets = build_landing_assets(
        [content_type_named("Audit.Exchange")], tenants, audit_partitions(tenants)
    )
    resources = {
        "management_api": ManagementApiResource(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            api_base_url=base_url,
            login_base_url=base_url,
            ca_bundle=ca_file,
            max_concurrent_fetches=1,
        ),
        "storage": StorageResource(data_dir=data_dir),
    }
    print("materializing", flush=True)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            assets,
            resources=resources,
            instance=instance,
            partition_key=partition_key_for(TENANT.name, datetime.fromisoformat(window_iso)),
            raise_on_error=False,
        )
    print("success" if result.success else "failure", flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
