"""With an object store configured, the `detections` and `daily_report` assets publish what they
write (the tenant-day's findings file; the report page and its charts) to a local S3-compatible
server (moto, the fixture of test_object_storage.py), and the bucket alone answers the
`findings` view; a machine without the day's previous findings fetches them, so a finding is
new only once. The day is four hours of synthetic content with every planted pattern, written
straight to hourly partitions (no HTTP)."""

import json
import shutil
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import s3fs

from o365_emulator.synthetic import SyntheticTenants
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.detections import build_detections_asset
from o365_pipeline.defs.partitions import daily_partitions, day_partition_key_for
from o365_pipeline.defs.reports import build_daily_report_asset
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.pipeline.detections import detect_day
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.e2e.test_object_storage import s3  # noqa: F401 - the fixture
from o365_pipeline_tests.synthetic_days import land_hours, long_ago

TENANT = DEMO_TENANTS[0].name
DAY = long_ago(9)
HOURS = [
    datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=UTC) + timedelta(hours=n) for n in range(4)
]


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """The day's four hours, landed once; each test copies them."""
    root = tmp_path_factory.mktemp("landed") / "data"
    tenants = SyntheticTenants(records_per_hour=30, redelivery_fraction=0.1, seed=11)
    for content_type in CONTENT_TYPES:
        land_hours(DataLayout(root), tenants, TENANT, content_type.name, HOURS)
    return root


def test_findings_and_report_are_published_and_the_bucket_answers_findings(s3, landed, tmp_path):  # noqa: F811
    prefix = f"s3://lake/{tmp_path.name}"
    root = tmp_path / "a"
    shutil.copytree(landed, root)
    storage = StorageResource(
        data_dir=str(root), object_store_url=prefix, object_store_options=json.dumps(s3)
    )
    partitions = daily_partitions(DEMO_TENANTS, include_today=True)
    assets = [build_detections_asset(partitions), build_daily_report_asset(partitions)]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            assets,
            resources={"storage": storage},
            instance=instance,
            partition_key=day_partition_key_for(TENANT, DAY),
        )
    published = {
        str(event.asset_key.to_user_string()): event.materialization.metadata["published_to"].value
        for event in result.get_asset_materialization_events()
    }
    layout = DataLayout(root)
    findings_file = layout.findings_file(TENANT, DAY)
    report_files = sorted(layout.report_dir(TENANT, DAY).iterdir())
    key_of = {f"{prefix}/{path.relative_to(root).as_posix()}": path for path in report_files}

    assert published["detections"] == [f"{prefix}/{findings_file.relative_to(root).as_posix()}"]
    assert sorted(published["daily_report"]) == sorted(key_of)
    assert any(url.endswith("/report.html") for url in key_of)
    assert sum(url.endswith(".png") for url in key_of) == 4
    bucket = s3fs.S3FileSystem(**s3)
    for url, path in {**key_of, published["detections"][0]: findings_file}.items():
        assert bucket.cat_file(url.removeprefix("s3://")) == path.read_bytes()

    local = detect_day(root, TENANT, DAY)  # the same findings, no store: nothing new
    shutil.rmtree(root / "detections")  # what follows can only come from the bucket
    with connect(root, store=ObjectStore(prefix, s3)) as connection:
        by_rule = dict(
            connection.execute("SELECT rule, count(*) FROM findings GROUP BY rule").fetchall()
        )
    assert by_rule == local.counts_by_rule and sum(by_rule.values()) == 7


def test_a_machine_without_the_previous_findings_fetches_them_first(s3, landed, tmp_path):  # noqa: F811
    store = ObjectStore(f"s3://lake/{tmp_path.name}", s3)
    shutil.copytree(landed, tmp_path / "a")
    first = detect_day(tmp_path / "a", TENANT, DAY, store=store)
    shutil.copytree(tmp_path / "a" / "audit", tmp_path / "b" / "audit")  # no detections/ on b
    again = detect_day(tmp_path / "b", TENANT, DAY, store=store)
    assert len(first.new) == len(first.findings) == 7
    assert again.findings == first.findings and again.new == ()
