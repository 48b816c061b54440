"""Planted attack patterns: they replace background records without changing a single Id or
count, every kind appears once in any four hours, their events keep the synthetic lag before
contentCreated, and the truth endpoint tells what was planted."""

from datetime import UTC, datetime, timedelta

import requests

from o365_emulator.planted_patterns import PATTERN_KINDS, PLANT_EVERY_HOURS
from o365_emulator.synthetic import SyntheticTenants
from o365_emulator_tests.conftest import api_text, error_code, hour_ago
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline_tests.fixtures import TENANT_ID

HOURS = [hour_ago(hours_back) for hours_back in range(PLANT_EVERY_HOURS + 2, 2, -1)]


def _tenants(**overrides):
    settings = {"records_per_hour": 30, "redelivery_fraction": 0.03, "seed": 0, **overrides}
    return SyntheticTenants(**settings)


def _served(tenants):
    """Every delivery of the hours: (Id, record, blob) in blob order."""
    return [
        (record["Id"], record, blob)
        for hour in HOURS
        for kind in CONTENT_TYPES
        for blob in tenants.blobs_for_hour(TENANT_ID, kind, hour)
        for record in tenants.records(blob)
    ]


def test_planting_keeps_every_id_and_count_and_changes_only_the_planted_records():
    planted, background = _tenants(), _tenants(planted_every_hours=0)
    with_patterns, without = _served(planted), _served(background)
    patterns = planted.planted.patterns(TENANT_ID, HOURS[0], HOURS[-1] + timedelta(hours=1))
    planted_ids = {record_id for pattern in patterns for record_id in pattern.ids}

    assert [row[0] for row in with_patterns] == [row[0] for row in without]
    changed = {a[0] for a, b in zip(with_patterns, without, strict=True) if a[1] != b[1]}
    assert changed == planted_ids and len(planted_ids) > 20


def test_any_four_consecutive_hours_hold_every_kind_once():
    tenants = _tenants()
    patterns = tenants.planted.patterns(TENANT_ID, HOURS[0], HOURS[0] + timedelta(hours=4))
    assert sorted(p.rule for p in patterns) == sorted(kind.rule for kind in PATTERN_KINDS)
    assert tenants.planted.patterns(TENANT_ID, HOURS[0], HOURS[0] + timedelta(hours=1))


def test_planted_events_precede_their_blob_by_five_to_120_minutes_and_match_the_truth():
    tenants = _tenants()
    served = {record_id: (record, blob) for record_id, record, blob in _served(tenants)}
    for pattern in tenants.planted.patterns(TENANT_ID, HOURS[0], HOURS[-1] + timedelta(hours=1)):
        times = []
        for record_id in pattern.ids:
            record, blob = served[record_id]
            at = datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC)
            assert timedelta(minutes=5) <= blob.content_created - at <= timedelta(minutes=120)
            assert blob.hour == pattern.window and blob.content_type == pattern.content_type
            times.append(at)
        assert (min(times), max(times)) == (pattern.first_seen, pattern.last_seen)


def test_a_re_delivered_planted_record_is_the_same_record():
    tenants = _tenants(redelivery_fraction=0.5)
    deliveries: dict[str, list[dict]] = {}
    for record_id, record, _ in _served(tenants):
        deliveries.setdefault(record_id, []).append(record)
    patterns = tenants.planted.patterns(TENANT_ID, HOURS[0], HOURS[-1] + timedelta(hours=1))
    repeated = [deliveries[i] for p in patterns for i in p.ids if len(deliveries[i]) > 1]
    assert repeated and all(all(r == copies[0] for r in copies) for copies in repeated)


def test_hours_too_small_for_a_pattern_go_without_it():
    tenants = _tenants(records_per_hour=4)
    patterns = tenants.planted.patterns(TENANT_ID, HOURS[0], HOURS[-1] + timedelta(hours=1))
    rules = {pattern.rule for pattern in patterns}
    assert "failed_sign_ins_then_success" not in rules  # nine records do not fit in four
    assert "admin_role_granted" in rules


def test_the_truth_endpoint_lists_the_planted_patterns(emulator):
    end = HOURS[-1] + timedelta(hours=1)
    answer = requests.get(
        f"{emulator.base_url}/_emulator/planted-patterns",
        params={"tenantId": TENANT_ID, "startTime": api_text(HOURS[0]), "endTime": api_text(end)},
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )
    expected = emulator.planted_patterns(TENANT_ID, HOURS[0], end)
    assert answer.status_code == 200
    assert answer.json() == {
        "count": len(expected),
        "patterns": [pattern.as_json() for pattern in expected],
    }
    served = set()
    for kind in CONTENT_TYPES:
        served |= emulator.ground_truth(TENANT_ID, kind.name, HOURS[0], end)
    assert {i for pattern in expected for i in pattern.ids} <= served


def test_the_truth_endpoint_names_a_missing_parameter(emulator):
    answer = requests.get(
        f"{emulator.base_url}/_emulator/planted-patterns",
        params={"tenantId": TENANT_ID, "startTime": api_text(HOURS[0])},
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )
    assert answer.status_code == 400 and error_code(answer) == "AF20001"
    assert "endTime" in answer.text
