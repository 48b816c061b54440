"""`python -m o365_pipeline_tests.bench.partition_scale`: a year of hourly windows × 100 tenants
(about 876,000 partitions per landing asset) in a default deployment's SQLite instance with a
week of landed history, and what that costs the code location, the UI's asset page and the
automation.

Measured, each `--repeats` times (wall seconds):
- code-location load in a fresh process (import, resolve, snapshot) and
  `dagster definitions validate`;
- `dagster-webserver` on the instance: start until the location is loaded, then the GraphQL
  queries of the asset page and its partitions tab (`asset_page_queries`);
- the hourly schedule's evaluation and the scheduler daemon's whole tick, and each sensor's
  evaluation (`automation_ticks`).
The machine's load average is recorded around each phase (other work shares the cores).
`--postgres` puts the instance on a throwaway local PostgreSQL server instead (Debian's
`initdb`/`pg_ctl`, started with fsync off, so its figures flatter a real server's writes).

Not a test: it asserts nothing about time. The figures are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import audit_key
from o365_pipeline.defs.partitions import partition_key_for
from o365_pipeline_tests.bench import asset_page_queries as ui
from o365_pipeline_tests.bench.automation_ticks import daemon_ticks, evaluations
from o365_pipeline_tests.bench.seeded_instance import (
    LANDING_ASSETS,
    ScaleDeployment,
    newest_settled_window,
    prepare_deployment,
    seed_history,
)
from o365_pipeline_tests.postgres_server import ThrowawayServer, server_binaries

REPOSITORY = Path(__file__).resolve().parents[2]
WORKSPACE = REPOSITORY / "workspace.yaml"
BIN = Path(sys.executable).parent
COMMAND_SECONDS = 600


def main(argv: list[str] | None = None) -> int:
    """Build the deployment, seed it, measure, print the table and write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m o365_pipeline_tests.bench.partition_scale")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--days", type=int, default=365, help="partition start, days back")
    parser.add_argument("--seed-hours", type=int, default=168, help="landed windows per tenant")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--daemon-repeats", type=int, help="daemon ticks (default --repeats; each creates runs)"
    )
    parser.add_argument("--keep", type=Path, help="build the deployment here and keep it")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="the instance on a throwaway local PostgreSQL server (Debian's initdb/pg_ctl)",
    )
    parser.add_argument("--out", type=Path, default=Path("data/bench_partition_scale.json"))
    args = parser.parse_args(argv)
    server = ThrowawayServer(server_binaries()) if args.postgres else None
    try:
        database = server.start() if server else None
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            results = measure(args.keep.resolve(), args, database)
        else:
            with tempfile.TemporaryDirectory(prefix="o365-partition-scale-") as scratch:
                results = measure(Path(scratch), args, database)
    finally:
        if server:
            server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print_table(results)
    return 0


def measure(root: Path, args: argparse.Namespace, postgres_url: str | None) -> dict:
    """Every phase, in order: prepare and seed, load, UI, automation."""
    now = datetime.now(UTC)
    results: dict = {
        "started": now.isoformat(timespec="seconds"),
        "instance": "postgres (throwaway, fsync off)" if postgres_url else "sqlite",
        "load_average": {},
    }
    results["load_average"]["start"] = os.getloadavg()
    began = time.perf_counter()
    deployment = prepare_deployment(
        root, tenants=args.tenants, days=args.days, now=now, postgres_url=postgres_url
    )
    prepared = round(time.perf_counter() - began, 1)
    # The code server the daemon's tick starts inherits the deployment's settings.
    os.environ.update(deployment.environment())
    newest = newest_settled_window(now)
    with dg.DagsterInstance.from_config(str(deployment.dagster_home)) as instance:
        history = seed_history(
            instance, deployment.tenant_names, hours=args.seed_hours, newest_window=newest
        )
        served = instance.get_dynamic_partitions("tenants")
    windows = (
        int(
            (
                newest - datetime.fromisoformat(deployment.partition_start).replace(tzinfo=UTC)
            ).total_seconds()
            // 3600
        )
        + 1
    )
    results["deployment"] = {
        "partition_start": deployment.partition_start,
        "registered_tenants": args.tenants,
        "tenant_partitions": len(served),
        "hourly_windows": windows,
        "partitions_per_hourly_asset": windows * len(served),
        "hourly_assets": len(LANDING_ASSETS),
        "prepare_seconds": prepared,
    }
    results["seeded"] = vars(history)
    results["load_average"]["after_seeding"] = os.getloadavg()
    results["code_location"] = code_location_load(deployment, args.repeats)
    results["load_average"]["after_code_location"] = os.getloadavg()
    results["asset_page"] = asset_page(deployment, args.repeats, newest)
    results["load_average"]["after_asset_page"] = os.getloadavg()
    results["automation"] = evaluations(deployment, repeats=args.repeats, now=now)
    results["automation"] |= daemon_ticks(
        deployment, WORKSPACE, repeats=args.daemon_repeats or args.repeats, now=datetime.now(UTC)
    )
    results["load_average"]["end"] = os.getloadavg()
    return results


def code_location_load(deployment: ScaleDeployment, repeats: int) -> dict:
    """Fresh-process loads (with their phases) and `dagster definitions validate`."""
    environment = os.environ | deployment.environment() | {"PYTHONPATH": str(REPOSITORY)}
    loads, validations = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "o365_pipeline_tests.bench.code_location_load"],
            cwd=deployment.root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=True,
        )
        loads.append(
            {"wall_seconds": round(time.perf_counter() - began, 3)}
            | json.loads(done.stdout.splitlines()[-1])
        )
        began = time.perf_counter()
        subprocess.run(
            [str(BIN / "dagster"), "definitions", "validate", "-w", str(WORKSPACE)],
            cwd=deployment.root,
            env=environment,
            capture_output=True,
            timeout=COMMAND_SECONDS,
            check=True,
        )
        validations.append(round(time.perf_counter() - began, 3))
    return {"fresh_process_load": loads, "definitions_validate_seconds": validations}


def asset_page(deployment: ScaleDeployment, repeats: int, newest) -> dict:
    """The webserver's start, then each asset-page query `repeats` times (the first one on a
    cold partition-status cache), with the partition counts the page shows.
    """
    table = audit_key(CONTENT_TYPES[0])
    asset = {"path": list(table.path)}
    partition = str(partition_key_for(deployment.tenant_names[-1], newest))
    queries = [
        ("AssetViewDefinitionQuery", ui.ASSET_VIEW_DEFINITION, {"assetKey": asset}),
        ("AssetGraphLiveQuery (the asset)", ui.ASSET_GRAPH_LIVE, {"assetKeys": [asset]}),
        ("PartitionHealthQuery", ui.PARTITION_HEALTH, {"assetKey": asset}),
        (
            "LatestAssetPartitionsQuery",
            ui.LATEST_ASSET_PARTITIONS,
            {"assetKey": asset, "limit": 10},
        ),
        (
            "AssetPartitionDetailQuery",
            ui.ASSET_PARTITION_DETAIL,
            {"assetKey": asset, "partitionKey": partition},
        ),
        (
            "AssetGraphLiveQuery (10 landing assets)",
            ui.ASSET_GRAPH_LIVE,
            {"assetKeys": [{"path": list(key.path)} for key in LANDING_ASSETS]},
        ),
    ]
    environment = os.environ | deployment.environment()
    log = deployment.root / "webserver.log"
    timings: dict[str, list[float]] = {name: [] for name, _, _ in queries}
    facts: dict = {}
    with ui.RunningWebserver(WORKSPACE, environment, deployment.root, log) as server:
        for _ in range(repeats):
            for name, text, variables in queries:
                seconds, data = server.timed(text, variables)
                timings[name].append(round(seconds, 3))
                facts.update(_page_facts(name, data))
        start = server.start_seconds
    return {
        "webserver_start_seconds": start,
        "queries": timings,
        "answers": facts,
        "asset": table.to_user_string(),
    }


def _page_facts(name: str, data: dict) -> dict:
    """What the page would show, to check the answers are about the seeded history."""
    if name == "AssetGraphLiveQuery (the asset)":
        return {"partition_stats": data["assetNodes"][0]["partitionStats"]}
    if name == "PartitionHealthQuery":
        node = data["assetNodeOrError"]
        statuses = node["assetPartitionStatuses"]
        return {
            "dimension_keys": {
                d["name"]: len(d["partitionKeys"]) for d in node["partitionKeysByDimension"]
            },
            "health_ranges": len(statuses.get("ranges") or []),
        }
    return {}


def print_table(results: dict) -> None:
    """The measured figures, one row per measurement."""
    deployment, seeded = results["deployment"], results["seeded"]
    print(f"instance: {results['instance']}")
    print(
        f"partitions per hourly asset: {deployment['partitions_per_hourly_asset']:,} "
        f"({deployment['hourly_windows']:,} windows × {deployment['tenant_partitions']} tenants, "
        f"from {deployment['partition_start']}); seeded {seeded['materializations']:,} "
        f"materializations ({seeded['windows']} windows × {seeded['tenants']} tenants × "
        f"{seeded['assets']} assets) in {seeded['seconds']} s"
    )
    loads = results["code_location"]["fresh_process_load"]
    rows = [
        ("code location: fresh process load (wall)", [load["wall_seconds"] for load in loads]),
        (
            "code location: import o365_pipeline.definitions",
            [load["import_seconds"] for load in loads],
        ),
        (
            "code location: resolve + snapshot",
            [round(load["resolve_seconds"] + load["snapshot_seconds"], 3) for load in loads],
        ),
    ]
    rows.append(
        ("dagster definitions validate", results["code_location"]["definitions_validate_seconds"])
    )
    page = results["asset_page"]
    rows.append(("webserver start to location loaded", [page["webserver_start_seconds"]]))
    rows += [(f"UI {name}", seconds) for name, seconds in page["queries"].items()]
    rows += [(name, facts["seconds"]) for name, facts in results["automation"].items()]
    width = max(len(name) for name, _ in rows)
    print(f"{'measurement':<{width}}  seconds (each repeat)")
    for name, seconds in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{value:8.2f}" for value in seconds))
    for name, facts in results["automation"].items():
        extra = {key: value for key, value in facts.items() if key != "seconds"}
        print(f"  {name}: {extra}")
    print(f"asset page answers: {page['answers']}")
    print(f"load average (1, 5, 15 min): {results['load_average']}")


if __name__ == "__main__":
    sys.exit(main())
