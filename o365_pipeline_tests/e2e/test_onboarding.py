"""Onboarding as a new user does it, from an empty data folder, through the CLI only: add three
tenants (healthy, missing the DLP permission, auditing off), run the doctor for each (three
different, correct verdicts), backfill the healthy one, remove one."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest
import requests

from o365_emulator.embedded import stop_embedded_emulator
from o365_emulator.samples import SAMPLE_TENANTS
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.partitions import TENANT_PARTITIONS_NAME

SAMPLES = {sample.name: sample for sample in SAMPLE_TENANTS}
HOURS = 24  # the acceptance: a day of the healthy tenant, through the CLI


def _cli(folder, *args):
    return subprocess.run(
        [sys.executable, "-m", "o365_pipeline.cli", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=_environment(),
    )


def _environment():
    """A new user's shell: no O365_* configuration, no Dagster instance chosen."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("O365_") and name != "DAGSTER_HOME"
    }


@pytest.fixture
def folder(tmp_path):
    yield tmp_path
    stop_embedded_emulator(tmp_path / "data" / ".emulator")


def test_a_new_user_onboards_three_tenants_backfills_one_and_removes_one(folder):
    added = [
        _cli(folder, "tenants", "add", "contoso", "contoso.onmicrosoft.com"),
        _cli(folder, "tenants", "add", "northwind", SAMPLES["northwind"].tenant_id),
        _cli(folder, "tenants", "add", "tailspin", SAMPLES["tailspin"].tenant_id),
    ]
    assert [result.returncode for result in added] == [0, 0, 0], [r.stderr for r in added]
    assert SAMPLES["contoso"].tenant_id in added[0].stdout  # the domain resolved to the GUID
    refused = _cli(folder, "tenants", "add", "Bad Name", SAMPLES["fabrikam"].tenant_id)
    assert refused.returncode == 2 and "Invalid customer name" in refused.stderr

    consent = _cli(folder, "consent-url", "contoso")
    assert f"/{SAMPLES['contoso'].tenant_id}/adminconsent?client_id=" in consent.stdout

    verdicts = {name: _cli(folder, "doctor", name) for name in ("contoso", "northwind", "tailspin")}
    assert verdicts["contoso"].returncode == 0
    assert "verdict: ready" in verdicts["contoso"].stdout
    assert verdicts["northwind"].returncode == 1
    assert "[FAIL] permissions" in verdicts["northwind"].stdout
    assert "missing: ActivityFeed.ReadDlp" in verdicts["northwind"].stdout
    assert verdicts["tailspin"].returncode == 1
    assert "[FAIL] audit logging" in verdicts["tailspin"].stdout
    assert "UnifiedAuditLogIngestionEnabled" in verdicts["tailspin"].stdout

    backfill = _cli(folder, "backfill", "contoso", "--hours", str(HOURS))
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert f"{HOURS} window(s) landed, 0 failed" in backfill.stdout

    removed = _cli(folder, "tenants", "remove", "tailspin")
    assert removed.returncode == 0, removed.stderr
    listed = _cli(folder, "tenants", "list").stdout
    assert "contoso" in listed and "northwind" in listed and "tailspin" not in listed

    data = folder / "data"
    registry = json.loads((data / "tenants.json").read_text())
    assert [entry["name"] for entry in registry["tenants"]] == ["contoso", "northwind"]
    os.environ["DAGSTER_HOME"] = str(data / "dagster_home")
    try:
        with dg.DagsterInstance.get() as instance:
            partitions = instance.get_dynamic_partitions(TENANT_PARTITIONS_NAME)
    finally:
        del os.environ["DAGSTER_HOME"]
    # Registered tenants are partitions; the removed one is not; the demo tenants stay served
    # in local mode, so onboarding after the demo never hides the demo's partitions.
    assert {"contoso", "northwind"} <= set(partitions)
    assert "tailspin" not in partitions

    # What landed equals what the emulator says exists for those hours.
    endpoint = json.loads((data / ".emulator" / "endpoint.json").read_text())
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    truth = set()
    for kind in CONTENT_TYPES:
        for offset in range(1, HOURS + 1):
            start = newest - timedelta(hours=offset)
            answer = requests.get(
                f"{endpoint['base_url']}/_emulator/ground-truth",
                params={
                    "tenantId": SAMPLES["contoso"].tenant_id,
                    "contentType": kind.name,
                    "startTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
                    "endTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                },
                verify=endpoint["ca_cert_path"],
                timeout=30,
            )
            truth |= set(answer.json()["ids"])
    files = [str(path) for path in data.glob("audit/*/tenant=contoso/*/*/part.parquet")]
    with duckdb.connect() as connection:
        ids = connection.execute(f"SELECT DISTINCT Id FROM read_parquet({files!r})").fetchall()
    assert {row[0] for row in ids} == truth and truth
