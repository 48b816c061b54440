"""The fault matrix: for each fault the emulator can inject, materialize partitions through
Dagster against the faulty emulator, then compare the Parquet with the emulator's ground truth:
every record Id exactly once, every record's JSON exactly as one of its deliveries. A row per
fault is printed at the end of the run (see conftest.py).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg
import pyarrow.parquet as pq
import pytest
import requests

from o365_emulator import (
    EmulatorConfig,
    start_emulator,
)
from o365_emulator.budget import RequestBudget
from o365_pipeline.content_types import content_type_named
from o365_pipeline.defs.assets import build_landing_assets, build_subscriptions_asset
from o365_pipeline.defs.partitions import audit_partitions, partition_key_for
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import read_ledger
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import api_resource_for

from .fault_matrix_report import ROWS, MatrixRow

EXCHANGE = content_type_named("Audit.Exchange")
TENANT = DEMO_TENANTS[0]


@dataclass(frozen=True)
class Case:
    name: str
    faults: list[dict]
    hours: int = 2
    runs: int = 1  # late blobs need a re-run to land
    proof: str = "hits"  # how the test knows the fault really happened
    extra: dict = field(default_factory=dict)  # settings of the API resource for this case


CASES = [
    Case("throttle 429 + Retry-After", [{"kind": "throttle", "count": 3, "retry_after": 1}]),
    Case(
        "throttle 403 AF429, no Retry-After",
        [{"kind": "throttle", "count": 3, "status": 403, "retry_after": None}],
    ),
    Case("503 burst", [{"kind": "server_error", "count": 4, "status": 503}]),
    Case(
        "random 500s",
        [{"kind": "server_error", "count": "all", "probability": 0.15, "status": 500}],
    ),
    Case("connection resets", [{"kind": "reset", "count": 3}]),
    Case("slow answers (past the timeout)", [{"kind": "slow", "count": 2, "seconds": 1.5}]),
    Case("truncated blob bodies", [{"kind": "truncate", "count": 3}]),
    Case("invalid JSON blob", [{"kind": "invalid_json", "count": 2}]),
    Case("listed blob 404s", [{"kind": "missing_blob", "count": 2}]),
    Case("throttle 429, Retry-After: 0", [{"kind": "throttle", "count": 3, "retry_after": "0"}]),
    Case(
        "throttle 429, Retry-After a past date",
        [{"kind": "throttle", "count": 3, "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}],
    ),
    Case(
        "blob body trickled (past the request deadline)",
        [{"kind": "trickle", "count": 2, "seconds_per_byte": 0.05}],
        extra={"request_deadline_seconds": 2.0},
    ),
    Case(
        "headers trickled (past the request deadline)",
        [{"kind": "trickle", "count": 2, "seconds_per_byte": 0.05, "headers": 1}],
        extra={"request_deadline_seconds": 2.0},
    ),
    Case("listing page not JSON", [{"kind": "invalid_json", "target": "listing", "count": 2}]),
    Case(
        "blob cut after a comma, honest Content-Length",
        [{"kind": "truncate", "count": 3, "keep": 0.5, "honest": 1}],
    ),
    Case("NextPageUri repeats a page", [{"kind": "repeat_page", "count": 3}]),
    Case("NextPageUri re-cased", [{"kind": "recase_next_page", "count": "all"}]),
    Case(
        "tokens expire early",
        [
            {"kind": "expire_token", "count": 1, "after": 3},
            {"kind": "expire_token", "count": 1, "after": 10},
        ],
    ),
    Case(
        "duplicated records across blobs",
        [{"kind": "duplicates", "fraction": 0.5}],
        proof="duplicates",
    ),
    Case("late blobs", [{"kind": "late_blob", "count": "all"}], runs=2, proof="late"),
    Case("request budget per publisher (2 s window)", [], proof="budget"),
    Case(
        "huge blob (30k records, 24 MB)",
        [{"kind": "huge_blob", "records": 30_000}],
        hours=1,
        proof="huge",
    ),
]


@pytest.fixture(scope="module")
def emulator():
    config = EmulatorConfig(records_per_hour=60, page_size=2, tenants=(TENANT.tenant_id,))
    with start_emulator(config) as running:
        yield running


def _control(emulator, method, payload=None):
    response = requests.request(
        method,
        f"{emulator.base_url}/_emulator/faults",
        data=None if payload is None else json.dumps(payload),
        verify=str(emulator.ca_cert_path),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def _ground_truth(emulator, start, end):
    response = requests.get(
        f"{emulator.base_url}/_emulator/ground-truth",
        params={
            "tenantId": TENANT.tenant_id,
            "contentType": EXCHANGE.name,
            "startTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "endTime": end.strftime("%Y-%m-%dT%H:%M:%S"),
        },
        verify=str(emulator.ca_cert_path),
        timeout=60,
    )
    return set(response.json()["ids"])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_pipeline_survives_the_fault_with_nothing_lost_duplicated_or_altered(
    emulator, tmp_path, case
):
    tenants = (TENANT,)
    partitions = audit_partitions(tenants)
    assets = [
        build_subscriptions_asset(tenants),
        *build_landing_assets([EXCHANGE], tenants, partitions),
    ]
    resources = {
        "management_api": api_resource_for(
            emulator,
            tmp_path,
            timeout_seconds=1.0,
            retry_initial_backoff_seconds=0.05,
            **case.extra,
        ),
        "storage": StorageResource(data_dir=str(tmp_path)),
    }
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    windows = [newest - timedelta(hours=offset) for offset in range(case.hours)]
    _control(emulator, "DELETE")
    if case.faults:
        status = _control(emulator, "POST", case.faults)
        assert status["faults"], "the fault should be switched on"
    normal_budget, answered_before = emulator.budget, len(emulator.requests())
    if case.proof == "budget":
        emulator.budget = RequestBudget(per_publisher=6, without_publisher=1, window_seconds=2)

    listing_checks = []
    with dg.DagsterInstance.ephemeral() as instance:
        dg.materialize(assets[:1], resources=resources, instance=instance)
        for _ in range(case.runs):
            for window in windows:
                result = dg.materialize(
                    assets[1:],
                    resources=resources,
                    instance=instance,
                    partition_key=partition_key_for(TENANT.name, window),
                )
                assert result.success
                listing_checks += [
                    evaluation
                    for evaluation in result.get_asset_check_evaluations()
                    if evaluation.check_name == "partition_has_every_listed_blob"
                ]
    hits = _control(emulator, "GET")["hits"]
    emulator.budget = normal_budget
    throttled = [entry for entry in emulator.requests()[answered_before:] if entry.status == 429]

    layout = DataLayout(tmp_path)
    expected = stored = lost = duplicated = altered = duplicates_dropped = 0
    for window in windows:
        truth = _ground_truth(emulator, window, window + timedelta(hours=1))
        served = emulator.api.served_texts(
            TENANT.tenant_id, EXCHANGE.name, window, window + timedelta(hours=1)
        )
        rows = pq.read_table(
            layout.audit_file(EXCHANGE.name, TENANT.name, window), columns=["Id", "raw_json"]
        ).to_pylist()
        ids = [row["Id"] for row in rows]
        expected += len(truth)
        stored += len(rows)
        lost += len(truth - set(ids))
        duplicated += len(ids) - len(set(ids))
        altered += sum(1 for row in rows if row["raw_json"] not in served.get(row["Id"], ()))
        entry, _ = read_ledger(layout.ledger_file(EXCHANGE.name, TENANT.name, window))
        duplicates_dropped += entry.duplicates_dropped
        assert entry.status == "complete"
    _control(emulator, "DELETE")
    ROWS.append(MatrixRow(case.name, len(windows), expected, stored, lost, duplicated, altered))

    assert expected > 0
    assert (lost, duplicated, altered) == (0, 0, 0)
    assert stored == expected
    if case.proof == "hits":
        assert hits.get(case.faults[0]["kind"], 0) >= 1, f"the fault never fired: {hits}"
    elif case.proof == "duplicates":
        assert duplicates_dropped > 0
    elif case.proof == "late":
        assert hits.get("late_blob", 0) >= len(windows)
        flagged = [check for check in listing_checks if not check.passed]
        assert len(flagged) == len(windows), "each re-listed window should report its late blob"
    elif case.proof == "budget":
        assert throttled, "the budget should have throttled the run"
    elif case.proof == "huge":
        assert stored >= 30_000
