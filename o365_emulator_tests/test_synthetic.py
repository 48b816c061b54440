"""Synthetic tenants: every content type, re-deliveries, and speed at volume."""

import time
from datetime import timedelta

import pytest

from o365_emulator.synthetic import SyntheticTenants
from o365_emulator_tests.conftest import hour_ago
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline_tests.fixtures import TENANT_ID


def _tenants(**overrides):
    settings = {"records_per_hour": 200, "redelivery_fraction": 0.03, "seed": 0, **overrides}
    return SyntheticTenants(**settings)


@pytest.mark.parametrize("content_type", CONTENT_TYPES, ids=lambda kind: kind.name)
def test_every_content_type_yields_its_record_types(content_type):
    tenants = _tenants()
    blob = tenants.blobs_for_hour(TENANT_ID, content_type, hour_ago(2))[0]
    record_types = {record["RecordType"] for record in tenants.records(blob)}
    assert record_types <= set(content_type.record_types) and record_types


def test_blobs_redeliver_records_of_the_previous_hour_unchanged():
    tenants = _tenants(redelivery_fraction=0.2)
    kind = CONTENT_TYPES[0]
    earlier = {
        record["Id"]: record
        for blob in tenants.blobs_for_hour(TENANT_ID, kind, hour_ago(3))
        for record in tenants.records(blob)
    }
    later = [
        r for b in tenants.blobs_for_hour(TENANT_ID, kind, hour_ago(2)) for r in tenants.records(b)
    ]
    repeated = [record for record in later if record["Id"] in earlier]
    assert repeated and all(record == earlier[record["Id"]] for record in repeated)


def test_blobs_tile_time_and_are_created_inside_their_hour():
    tenants = _tenants()
    hour = hour_ago(2)
    blobs = tenants.blobs_for_hour(TENANT_ID, CONTENT_TYPES[2], hour)
    assert all(hour <= blob.content_created < hour + timedelta(hours=1) for blob in blobs)
    for previous, current in zip(blobs, blobs[1:], strict=False):
        assert current.content_start == previous.content_created + timedelta(milliseconds=1)


def test_another_seed_gives_other_content():
    blob = _tenants(seed=1).blobs_for_hour(TENANT_ID, CONTENT_TYPES[0], hour_ago(2))[0]
    other = _tenants(seed=2).blobs_for_hour(TENANT_ID, CONTENT_TYPES[0], hour_ago(2))[0]
    assert blob.content_id != other.content_id


def test_ten_thousand_records_generate_in_well_under_a_second_per_thousand():
    tenants = _tenants(records_per_hour=10_000)
    began = time.perf_counter()
    count = sum(
        len(tenants.records(b))
        for b in tenants.blobs_for_hour(TENANT_ID, CONTENT_TYPES[1], hour_ago(2))
    )
    assert count >= 10_000
    assert time.perf_counter() - began < 10  # generous: a guard against accidental O(n²)


def test_failed_sign_ins_cluster_on_a_few_addresses_of_a_small_population():
    tenants = _tenants(records_per_hour=400)
    records = [
        record
        for hours_back in range(2, 5)
        for blob in tenants.blobs_for_hour(TENANT_ID, CONTENT_TYPES[0], hour_ago(hours_back))
        for record in tenants.records(blob)
    ]
    failed = [record["ClientIP"] for record in records if record["Operation"] == "UserLoginFailed"]
    top_ip_share = max(failed.count(ip) for ip in set(failed)) / len(failed)
    assert len({record["UserId"] for record in records}) <= 12
    assert top_ip_share > 0.15
