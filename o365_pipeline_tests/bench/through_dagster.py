"""`python -m o365_pipeline_tests.bench.through_dagster`: a collection through Dagster, launched
the way users launch it, against a standalone emulator process with added latency.

Measured, each in its own process (wall time and peak RSS from `wait4`):
- `o365-pipeline backfill NAME --hours H`: every content type × H windows (one ranged run);
- `dagster asset materialize --partition …`: one partition, all content types (what the UI and
  the schedule launch);
- the same H windows by a plain loop over the core (`land_windows`), without Dagster: the
  in-process reference.
Requests made are read from the emulator and compared with the minimum (listing pages +
blobs); landed Ids are compared with the emulator's ground truth.

Not a test: it asserts nothing about time. The figures are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import requests

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline_tests.ground_truth import ground_truth_ids

APP_ID = "0d6a1e77-3b2c-4f5e-8a9b-1c2d3e4f5a6b"
APP_SECRET = "bench-shared-app-secret"
TENANT = "4b7d9f1a-2c3e-4a5b-8c6d-7e8f9a0b1c2d"
NAME = "bench"
STARTUP_SECONDS = 120
COMMAND_SECONDS = 3600


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print the table."""
    parser = argparse.ArgumentParser(prog="python -m o365_pipeline_tests.bench.through_dagster")
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--records-per-hour", type=int, default=2000, help="per content type")
    parser.add_argument("--blobs-per-hour", type=int, default=20, help="per content type")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("data/bench_dagster.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="o365-bench-") as scratch:
        work = Path(scratch)
        with standalone_emulator(work, args) as emulator:
            results = measure(work, emulator, args)
    results["settings"] = vars(args) | {"out": str(args.out)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print_table(results)
    return 0


class standalone_emulator:  # noqa: N801 - used as a context manager, reads as one
    """`python -m o365_emulator` in its own process, as a real tenant is reached."""

    def __init__(
        self, work: Path, args: argparse.Namespace, extra: list[str] | None = None
    ) -> None:
        self._command = [
            sys.executable,
            "-m",
            "o365_emulator",
            "--port",
            "0",
            "--tenant",
            TENANT,
            "--client-id",
            APP_ID,
            "--client-secret",
            APP_SECRET,
            "--records-per-hour",
            str(args.records_per_hour),
            "--blobs-per-hour",
            str(args.blobs_per_hour),
            "--latency-ms",
            str(args.latency_ms),
            "--requests-per-minute",
            "0",
            "--ca-out",
            str(work / "ca.pem"),
            "--state-dir",
            str(work / "emulator"),
            *(extra or []),
        ]
        self._ca = work / "ca.pem"

    def cpu_seconds(self) -> float:
        """CPU time the emulator process has used so far (it shares the machine's cores)."""
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> standalone_emulator:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        banner = self._process.stdout.readline()
        base_url = banner.strip().rsplit(" on ", 1)[1]
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._ca.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.base_url, self.ca = base_url, self._ca
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._process.terminate()
        self._process.communicate(timeout=STARTUP_SECONDS)


def measure(work: Path, emulator: standalone_emulator, args: argparse.Namespace) -> dict:
    """Every round of every measurement."""
    base_url, ca = emulator.base_url, emulator.ca
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rounds = []
    for number in range(args.rounds):
        data = work / f"round-{number}"
        env = deployment(base_url, ca, data)
        run(["o365-pipeline", "tenants", "add", NAME, TENANT], env)
        before, served = counts(base_url, ca), emulator.cpu_seconds()
        backfill = timed(["o365-pipeline", "backfill", NAME, "--hours", str(args.hours)], env)
        spent = difference(counts(base_url, ca), before)
        backfill["emulator_cpu_seconds"] = round(emulator.cpu_seconds() - served, 2)
        windows = landed_windows(backfill["output"])
        truth = ground_truth_ids(base_url, ca, TENANT, windows, timeout=COMMAND_SECONDS)
        rows = landed_ids(data)
        ids = {record_id for _, record_id in rows}
        plain_data = work / f"plain-{number}"
        before, served = counts(base_url, ca), emulator.cpu_seconds()
        plain = timed(
            [sys.executable, "-m", "o365_pipeline_tests.bench.plain_loop", NAME, TENANT]
            + [window.isoformat() for window in windows],
            deployment(base_url, ca, plain_data),
        )
        plain_spent = difference(counts(base_url, ca), before)
        plain["emulator_cpu_seconds"] = round(emulator.cpu_seconds() - served, 2)
        newest = max(windows) if windows else now - timedelta(hours=2)
        single = timed(
            [
                "dagster",
                "asset",
                "materialize",
                "-m",
                "o365_pipeline.definitions",
                "--select",
                "key:content_listing/* or key:audit/*",
                "--partition",
                f"{NAME}|{newest:%Y-%m-%d-%H:%M}",
            ],
            env,
        )
        rounds.append(
            {
                "windows": len(windows),
                "records": len(rows),
                "distinct_records": len(ids),
                "ground_truth": len(truth),
                "exactly_once": ids == truth and len(set(rows)) == len(rows),
                "backfill_seconds": backfill["seconds"],
                "backfill_peak_rss_mb": backfill["peak_rss_mb"],
                "backfill_cpu_seconds": backfill["cpu_seconds"],
                "backfill_emulator_cpu_seconds": backfill["emulator_cpu_seconds"],
                "backfill_requests": spent,
                "minimum_requests": minimum_requests(args, len(windows)),
                "plain_loop_seconds": plain["seconds"],
                "plain_loop_peak_rss_mb": plain["peak_rss_mb"],
                "plain_loop_cpu_seconds": plain["cpu_seconds"],
                "plain_loop_emulator_cpu_seconds": plain["emulator_cpu_seconds"],
                "plain_loop_requests": plain_spent,
                "single_partition_seconds": single["seconds"],
                "single_partition_peak_rss_mb": single["peak_rss_mb"],
                "single_partition_ok": single["returncode"] == 0,
            }
        )
    return {"rounds": rounds, "median": medians(rounds)}


def deployment(base_url: str, ca: Path, data: Path) -> dict[str, str]:
    """A real deployment's environment aimed at the emulator (no client-side request limit:
    the figure is the pipeline's own, not the quota's).
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("O365_") and name != "DAGSTER_HOME"
    }
    data.mkdir(parents=True, exist_ok=True)
    return environment | {
        "O365_CLIENT_ID": APP_ID,
        "O365_CLIENT_SECRET": APP_SECRET,
        "O365_API_BASE_URL": base_url,
        "O365_LOGIN_BASE_URL": base_url,
        "O365_CA_BUNDLE": str(ca),
        "O365_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster_home"),
        "O365_RATE_LIMIT_PER_MINUTE": "0",
    }


def run(command: list[str], env: dict[str, str]) -> None:
    """An untimed set-up command; stop on failure."""
    done = subprocess.run(
        _resolved(command), env=env, capture_output=True, text=True, timeout=COMMAND_SECONDS
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")


def timed(command: list[str], env: dict[str, str]) -> dict:
    """Wall seconds, peak RSS (MB, the process and its waited-for children) and output."""
    (Path(env["O365_DATA_DIR"]) / "dagster_home").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile("w+") as output:
        began = time.perf_counter()
        process = subprocess.Popen(
            _resolved(command), env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "returncode": process.returncode,
        "output": text,
    }


def _resolved(command: list[str]) -> list[str]:
    """Console scripts from this virtualenv."""
    if "/" in command[0]:
        return command
    script = Path(sys.executable).with_name(command[0])
    return [str(script), *command[1:]] if script.exists() else command


def counts(base_url: str, ca: Path) -> dict[str, int]:
    """Requests the emulator answered so far, by kind."""
    answer = requests.get(f"{base_url}/_emulator/requests", verify=str(ca), timeout=60)
    answer.raise_for_status()
    return answer.json()


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Requests between two readings."""
    return {kind: after[kind] - before.get(kind, 0) for kind in after}


def minimum_requests(args: argparse.Namespace, windows: int) -> dict[str, int]:
    """One listing page per (type, window) when its blobs fit a page, plus every blob."""
    pages = math.ceil(args.blobs_per_hour / 100) or 1  # the emulator's default page size
    return {
        "listing_pages": windows * len(CONTENT_TYPES) * pages,
        "blobs": windows * len(CONTENT_TYPES) * args.blobs_per_hour,
    }


def landed_windows(output: str) -> list[datetime]:
    """The windows `backfill` reported as landed."""
    windows = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == "UTC" and parts[3] == "ok":
            windows.append(
                datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            )
    return windows


def landed_ids(data: Path) -> list[tuple[str, str]]:
    """Every landed (file, record Id); an Id may recur across windows (Microsoft re-delivers
    records in later blobs; the `audit` view shows it once), never within one partition.
    """
    files = [str(path) for path in data.glob(f"audit/*/tenant={NAME}/*/*/part.parquet")]
    if not files:
        return []
    with duckdb.connect() as connection:
        query = f"SELECT filename, Id FROM read_parquet({files!r}, filename = true)"
        return connection.execute(query).fetchall()


def medians(rounds: list[dict]) -> dict:
    """The median of every numeric figure across rounds."""
    middle = {}
    for name, value in rounds[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values = sorted(round_[name] for round_ in rounds)
            middle[name] = values[len(values) // 2]
    return middle


def print_table(results: dict) -> None:
    """The figures a closing note quotes."""
    middle, first = results["median"], results["rounds"][0]
    overhead = middle["backfill_seconds"] - middle["plain_loop_seconds"]
    ratio = middle["backfill_seconds"] / middle["plain_loop_seconds"]
    rss = " / ".join(
        str(middle[f"{name}_peak_rss_mb"])
        for name in ("backfill", "plain_loop", "single_partition")
    )
    rows = [
        ("windows × content types", f"{middle['windows']} × {len(CONTENT_TYPES)}"),
        (
            "records stored (distinct / ground truth)",
            f"{middle['records']} ({middle['distinct_records']} / {middle['ground_truth']})",
        ),
        ("every record exactly once", str(all(r["exactly_once"] for r in results["rounds"]))),
        ("backfill through Dagster (s)", f"{middle['backfill_seconds']:.2f}"),
        ("  records/s", f"{middle['records'] / middle['backfill_seconds']:.0f}"),
        ("  vs the 15.8 s reference collector", f"{15.8 / middle['backfill_seconds']:.2f}×"),
        ("plain loop over the core (s)", f"{middle['plain_loop_seconds']:.2f}"),
        ("  Dagster overhead (s)", f"{overhead:.2f}"),
        ("  backfill / plain loop", f"{ratio:.2f}"),
        (
            "CPU-s backfill + emulator / plain + emulator",
            f"{middle['backfill_cpu_seconds']} + {middle['backfill_emulator_cpu_seconds']} / "
            f"{middle['plain_loop_cpu_seconds']} + {middle['plain_loop_emulator_cpu_seconds']}",
        ),
        ("requests (backfill)", json.dumps(first["backfill_requests"])),
        ("requests (minimum)", json.dumps(first["minimum_requests"])),
        ("one partition, `dagster asset materialize` (s)", f"{middle['single_partition_seconds']}"),
        ("peak RSS backfill / plain / one partition (MB)", rss),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
