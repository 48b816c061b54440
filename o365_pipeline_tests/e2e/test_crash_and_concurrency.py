"""A materialization killed with SIGKILL mid-partition leaves the last good partition (or
none) and no visible partial file; a re-run completes it. Two runs of the same partition at
once leave one complete, uncorrupted result."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest

from o365_emulator import (
    EmulatorConfig,
    start_emulator,
)
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.emulator_access import client_for

TENANT = DEMO_TENANTS[0]
EXCHANGE = "Audit.Exchange"


@pytest.fixture(scope="module")
def slow_emulator():
    """Six blobs an hour, each answer 400 ms late: a run takes seconds, long enough to kill."""
    config = EmulatorConfig(
        tenants=(TENANT.tenant_id,), records_per_hour=3_000, blobs_per_hour=6, latency_ms=400
    )
    with start_emulator(config) as running:
        client = client_for(running, tenant_id=TENANT.tenant_id)
        client.start_subscription(EXCHANGE)
        client.close()
        yield running


@pytest.fixture
def window():
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def _spawn(emulator, data_dir, window):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "o365_pipeline_tests.e2e.materialize_partition",
            emulator.base_url,
            str(emulator.ca_cert_path),
            str(data_dir),
            window.isoformat(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _blob_fetches(emulator):
    return sum(1 for entry in emulator.requests() if "/activity/feed/audit/" in entry.path)


def _kill_mid_partition(emulator, process, after_blobs):
    """SIGKILL once the run has fetched `after_blobs` more blobs (mid-partition)."""
    start = _blob_fetches(emulator)
    deadline = time.monotonic() + 120
    while _blob_fetches(emulator) < start + after_blobs:
        assert process.poll() is None, (
            f"the run ended before it could be killed: {process.stdout.read()}"
        )
        assert time.monotonic() < deadline, "the run never fetched blobs"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _stored(path):
    return pq.read_table(path, columns=["Id", "raw_json"]).to_pylist()


def _visible_parquet(data_dir):
    return sorted(path for path in data_dir.rglob("*.parquet") if not path.name.startswith("."))


def _truth(emulator, window):
    return emulator.ground_truth(TENANT.tenant_id, EXCHANGE, window, window + timedelta(hours=1))


def test_sigkill_mid_partition_keeps_the_last_good_file_and_a_rerun_completes(
    slow_emulator, tmp_path, window
):
    layout = DataLayout(tmp_path)
    audit_file = layout.audit_file(EXCHANGE, TENANT.name, window)

    # A first run killed mid-partition: nothing visible, no partial Parquet anywhere.
    _kill_mid_partition(slow_emulator, _spawn(slow_emulator, tmp_path, window), after_blobs=2)
    assert not audit_file.exists()
    assert not any("audit" in str(path) for path in _visible_parquet(tmp_path))

    # A complete run, then one killed mid-partition: the complete file stays, byte for byte.
    done = _spawn(slow_emulator, tmp_path, window)
    assert done.wait(timeout=180) == 0, done.stdout.read()
    good = audit_file.read_bytes()
    _kill_mid_partition(slow_emulator, _spawn(slow_emulator, tmp_path, window), after_blobs=3)
    assert audit_file.read_bytes() == good
    with connect(tmp_path) as connection:  # analysts' views read cleanly past the leftovers
        count = connection.execute("SELECT count(*) FROM audit_exchange").fetchone()[0]
    rows = _stored(audit_file)
    assert count == len(rows)

    # The re-run completes: every Id exactly once.
    rerun = _spawn(slow_emulator, tmp_path, window)
    assert rerun.wait(timeout=180) == 0, rerun.stdout.read()
    ids = [row["Id"] for row in _stored(audit_file)]
    assert len(ids) == len(set(ids))
    assert set(ids) == _truth(slow_emulator, window)


def test_two_runs_of_the_same_partition_at_once_leave_one_complete_result(
    slow_emulator, tmp_path, window
):
    window -= timedelta(hours=1)
    first, second = (_spawn(slow_emulator, tmp_path, window) for _ in range(2))
    outputs = [process.communicate(timeout=240)[0] for process in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outputs

    layout = DataLayout(tmp_path)
    audit_file = layout.audit_file(EXCHANGE, TENANT.name, window)
    ids = [row["Id"] for row in _stored(audit_file)]
    assert len(ids) == len(set(ids))
    assert set(ids) == _truth(slow_emulator, window)
    assert [path.name for path in _visible_parquet(tmp_path / "audit")] == ["part.parquet"]
    with duckdb.connect() as connection:  # the file is whole: every row group reads
        total = connection.execute(f"SELECT count(*) FROM read_parquet('{audit_file}')").fetchone()
    assert total[0] == len(ids)
