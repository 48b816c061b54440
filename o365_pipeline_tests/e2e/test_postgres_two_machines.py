"""A deployment on two "machines" (two working folders with their own data, Dagster home and
environment) that share only PostgreSQL and the object store (moto's S3 server).

Machine A registers the tenant (in the database's registry), lands the newest window with
`o365-pipeline backfill`, and runs the real `dagster-daemon`, which picks up a Dagster backfill
of the window before and launches its run through the code server of machine B (`dagster api
grpc` in B's folder, as a worker node serves runs): B's steps draw on the same request budget
and write into the same bucket. The bucket must then hold exactly the emulator's ground truth
for both windows, each machine's folder only its own window, and the one Dagster instance the
materializations of both.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg2
from dagster._core.execution.backfill import PartitionBackfill

from o365_pipeline.api.rate_limit_postgres import TABLE as BUDGET_TABLE
from o365_pipeline.cli.dagster_instance import open_instance
from o365_pipeline.config import load_settings
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import audit_key, listing_key
from o365_pipeline.defs.partitions import partition_key_for, sync_tenant_partitions
from o365_pipeline.pipeline.settled_windows import fetchable_window_starts
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.storage.views import connect
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.directory import directory_for
from o365_pipeline.tenants.registry import RegisteredTenant
from o365_pipeline_tests.bench.through_dagster import (
    APP_ID,
    APP_SECRET,
    TENANT,
    standalone_emulator,
)
from o365_pipeline_tests.e2e.test_object_storage import s3  # noqa: F401 - the fixture
from o365_pipeline_tests.ground_truth import ground_truth_ids

NAME = "twomachines"
COMMAND_SECONDS = 180  # one CLI command: interpreter, code location, one window
START_SECONDS = 120  # a code server or daemon loading the code location on a loaded machine
RUN_SECONDS = 240  # backfill daemon tick (at start), queue tick (5 s), run on B
STOP_SECONDS = 30
BIN = Path(sys.executable).parent


def _machine(root: Path, emulator, postgres_url: str, bucket: str, s3_options: dict) -> dict:
    """The environment of one machine: its own folders, the shared database and bucket."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("O365_") and name != "DAGSTER_HOME"
    }
    root.mkdir(parents=True)
    return environment | {
        "O365_CLIENT_ID": APP_ID,
        "O365_CLIENT_SECRET": APP_SECRET,
        "O365_API_BASE_URL": emulator.base_url,
        "O365_LOGIN_BASE_URL": emulator.base_url,
        "O365_CA_BUNDLE": str(emulator.ca),
        "O365_DATA_DIR": str(root / "data"),
        "DAGSTER_HOME": str(root / "data" / "dagster_home"),
        "O365_POSTGRES_URL": postgres_url,
        "O365_OBJECT_STORE": bucket,
        "O365_OBJECT_STORE_OPTIONS": json.dumps(s3_options),
    }


def _settings(environment: dict):
    return load_settings(
        client_id=environment["O365_CLIENT_ID"],
        client_secret=environment["O365_CLIENT_SECRET"],
        api_base_url=environment["O365_API_BASE_URL"],
        login_base_url=environment["O365_LOGIN_BASE_URL"],
        ca_bundle=environment["O365_CA_BUNDLE"],
        data_dir=environment["O365_DATA_DIR"],
        dagster_home=environment["DAGSTER_HOME"],
        postgres_url=environment["O365_POSTGRES_URL"],
        object_store=environment["O365_OBJECT_STORE"],
        object_store_options=environment["O365_OBJECT_STORE_OPTIONS"],
    )


def _command(arguments: list[str], environment: dict, cwd: Path) -> str:
    done = subprocess.run(
        [str(BIN / arguments[0]), *arguments[1:]],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    assert done.returncode == 0, f"{arguments}: {done.stdout}{done.stderr}"
    return done.stdout


def _background(arguments: list[str], environment: dict, cwd: Path) -> subprocess.Popen:
    log = open(cwd / f"{arguments[0]}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [str(BIN / arguments[0]), *arguments[1:]],
        env=environment,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_SECONDS)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listened on {port} within {START_SECONDS} s: {log.read_text()}")


def _finished_backfill_run(instance: dg.DagsterInstance, backfill_id: str, daemon, log: Path):
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        assert daemon.poll() is None, log.read_text()
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        if runs and all(run.is_finished for run in runs):
            return runs
        time.sleep(0.5)
    raise AssertionError(f"the backfill's run did not finish in {RUN_SECONDS} s")


def _partition_backfill(settings, instance, window: datetime) -> PartitionBackfill:
    """What the UI's "Launch backfill" submits: the window's partition of every listing and
    audit asset, for the daemon to run.
    """
    from o365_pipeline.definitions import build_definitions

    graph = build_definitions(settings).resolve_asset_graph()
    return PartitionBackfill.from_asset_partitions(
        backfill_id=uuid.uuid4().hex[:8],
        asset_graph=graph,
        partition_names=[str(partition_key_for(NAME, window))],
        asset_selection=[key(kind) for kind in CONTENT_TYPES for key in (listing_key, audit_key)],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )


def _landed_windows(root: Path) -> set[str]:
    """The date=…/hour=… folders this machine wrote audit files into."""
    hours = (root / "data" / "audit").glob("*/tenant=*/date=*/hour=*")
    return {f"{path.parent.name}/{path.name}" for path in hours}


def test_two_machines_share_only_postgres_and_the_bucket(postgres_url, s3, tmp_path):  # noqa: F811
    bucket = f"s3://lake/{tmp_path.name}"
    emulator_args = Namespace(records_per_hour=6, blobs_per_hour=2, latency_ms=0)
    with standalone_emulator(tmp_path, emulator_args) as emulator:
        a = _machine(tmp_path / "a", emulator, postgres_url, bucket, s3)
        b = _machine(tmp_path / "b", emulator, postgres_url, bucket, s3)
        folder_a, folder_b = tmp_path / "a", tmp_path / "b"
        settings_a = _settings(a)
        older, newest = fetchable_window_starts(datetime.now(UTC), 2)

        port = _free_port()
        code_server = _background(  # loads the code location while A works
            ["dagster", "api", "grpc", "-m", "o365_pipeline.definitions"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            b,
            folder_b,
        )
        try:
            with open_instance(settings_a) as instance:  # A's dagster.yaml: on Postgres
                directory_for(settings_a).registry.add(RegisteredTenant(NAME, TENANT))
                sync_tenant_partitions(instance, (Tenant(name=NAME, tenant_id=TENANT),))
                output = _command(["o365-pipeline", "backfill", NAME, "--hours", "1"], a, folder_a)
                landed_by_cli = re.findall(r"(\d{4}-\d\d-\d\d \d\d:00) UTC  ok", output)
                assert landed_by_cli, output

                _wait_for_port(port, code_server, folder_b / "dagster.log")
                (folder_a / "workspace.yaml").write_text(
                    "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
                    f"      port: {port}\n      location_name: o365_pipeline\n"
                )
                backfill = _partition_backfill(settings_a, instance, older)
                instance.add_backfill(backfill)
                daemon = _background(
                    ["dagster-daemon", "run", "-w", str(folder_a / "workspace.yaml")], a, folder_a
                )
                try:
                    runs = _finished_backfill_run(
                        instance, backfill.backfill_id, daemon, folder_a / "dagster-daemon.log"
                    )
                finally:
                    _stop(daemon)
                materialized = instance.get_materialized_partitions(audit_key(CONTENT_TYPES[0]))
        finally:
            _stop(code_server)
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), [
            (run.run_id, run.status) for run in runs
        ]

        windows = {
            older,
            *(
                datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
                for text in landed_by_cli
            ),
        }
        truth = ground_truth_ids(
            emulator.base_url, emulator.ca, TENANT, sorted(windows), timeout=COMMAND_SECONDS
        )

    assert str(partition_key_for(NAME, older)) in materialized  # run on B, seen from A
    assert str(partition_key_for(NAME, newest)) in materialized  # run on A
    only_b, only_a = _landed_windows(folder_b), _landed_windows(folder_a)
    assert only_b and only_a and not only_a & only_b, (only_a, only_b)

    (tmp_path / "reader").mkdir()  # an empty folder: what follows comes from the bucket
    with connect(tmp_path / "reader", store=ObjectStore(bucket, s3)) as reader:
        rows = [
            record_id
            for kind in CONTENT_TYPES
            for (record_id,) in reader.execute(f"SELECT Id FROM {kind.slug}").fetchall()
        ]
    assert truth and set(rows) == truth and len(rows) == len(truth)

    with psycopg2.connect(postgres_url) as database, database.cursor() as cursor:
        cursor.execute(f"SELECT bucket FROM {BUDGET_TABLE}")
        budgets = [bucket_key for (bucket_key,) in cursor.fetchall()]
    database.close()
    assert budgets == [f"{TENANT}|{TENANT}"]  # one budget, shared by both machines
    for machine in (folder_a, folder_b):
        assert not (machine / "data" / "tenants.json").exists()
        assert not list((machine / "data").glob(".ratelimit/*"))
