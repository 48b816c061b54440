"""`python -m o365_pipeline_tests.bench`: ingest throughput against the in-process limit,
peak memory, requests made, and analyst query latency — one table, also written as JSON.

Not a test: it asserts nothing about time (machines are noisy); compare its JSON across runs.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.settings import ClientSecret, ClientSettings
from o365_pipeline_tests.bench.limit import measure_limit
from o365_pipeline_tests.bench.queries import time_queries
from o365_pipeline_tests.bench.week import build_week

TENANT_ID = "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"
EXCHANGE_RECORD_BYTES = 800  # measured: 30,000 emulated Exchange records ≈ 24 MB
CONTENT_TYPE = "Audit.Exchange"


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(prog="python -m o365_pipeline_tests.bench")
    parser.add_argument(
        "--records", default="100000", help="comma-separated partition sizes, e.g. 100000,1000000"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=100, help="emulated round-trip latency per API request"
    )
    parser.add_argument("--workers", type=int, default=8, help="concurrent blob fetches")
    parser.add_argument(
        "--week-records-per-day",
        type=int,
        default=1_000_000,
        help="scale of the 7-day dataset for the query timings (0 = skip)",
    )
    parser.add_argument(
        "--blob-mb",
        default="",
        help="comma-separated single-blob sizes in MB (e.g. 1,10,70): peak RSS against blob size",
    )
    parser.add_argument(
        "--storm",
        type=int,
        default=0,
        help="a 429 storm: the first N API requests answered 429 with Retry-After: 1",
    )
    parser.add_argument("--out", type=Path, default=Path("data/bench.json"))
    args = parser.parse_args(argv)
    results = {
        "started": datetime.now(UTC).isoformat(),
        "latency_ms": args.latency_ms,
        "workers": args.workers,
        "ingest": [],
        "blob_sizes": [],
        "storm": None,
        "queries": {},
    }
    with tempfile.TemporaryDirectory(prefix="o365-bench-") as scratch:
        scratch = Path(scratch)
        for size in (int(value) for value in args.records.split(",") if value):
            results["ingest"].append(_ingest_row(size, args, scratch / f"n{size}"))
            _print_ingest(results["ingest"][-1])
        for megabytes in (float(value) for value in args.blob_mb.split(",") if value):
            records = int(megabytes * 1e6 / EXCHANGE_RECORD_BYTES)
            row = _ingest_row(records, args, scratch / f"blob{megabytes}", blobs_per_hour=1)
            results["blob_sizes"].append(row)
            _print_ingest(row)
        if results["blob_sizes"]:
            _print_slope(results["blob_sizes"])
        if args.storm:
            storm = [{"kind": "throttle", "count": args.storm, "retry_after": 1, "target": "blob"}]
            row = _ingest_row(100_000, args, scratch / "storm", faults=storm)
            results["storm"] = {**row, "retry_after_asked_s": args.storm * 1.0}
            _print_ingest(row)
            print(
                f"  429 storm: {row['throttled']} throttled answers, waited "
                f"{row['seconds_waited']:.1f} s in all; Retry-After asked {args.storm} s"
            )
        if args.week_records_per_day:
            week_dir = scratch / "week"
            rows = build_week(week_dir, records_per_day=args.week_records_per_day)
            results["queries"] = {"rows": rows, "seconds": time_queries(week_dir)}
            _print_queries(results["queries"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {args.out}")
    return 0


def _ingest_row(
    size: int,
    args: argparse.Namespace,
    scratch: Path,
    *,
    blobs_per_hour: int | None = None,
    faults: list[dict] = (),
) -> dict:
    scratch.mkdir(parents=True)
    window = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    emulator = _emulator(size, args.latency_ms, scratch, blobs_per_hour)
    with emulator as (base_url, ca):
        client = _client(base_url, ca, args.workers)
        client.start_subscription(CONTENT_TYPE)
        blobs = list(client.list_content(CONTENT_TYPE, window, window + timedelta(hours=1)))
        blob_files, alone = _download(client, blobs, scratch / "blobs")
        largest_blob_mb = max(path.stat().st_size for path in blob_files) / 1e6
        limit = measure_limit(blob_files, CONTENT_TYPE, scratch / "limit.parquet")
        warm = _serve_warm(client, blobs, args.workers)
        if faults:  # switched on for the pipeline run only, through the control endpoint
            requests.post(
                f"{base_url}/_emulator/faults", data=json.dumps(faults), verify=ca, timeout=30
            ).raise_for_status()
        pipeline = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "o365_pipeline_tests.bench.pipeline_run",
                    "--base-url",
                    base_url,
                    "--ca",
                    ca,
                    "--tenant-id",
                    TENANT_ID,
                    "--content-type",
                    CONTENT_TYPE,
                    "--window-start",
                    window.isoformat(),
                    "--data-dir",
                    str(scratch / "data"),
                    "--workers",
                    str(args.workers),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
    blob_mb = sum(path.stat().st_size for path in blob_files) / 1e6
    return {
        "records": pipeline["records"],
        "blobs": len(blobs),
        "blob_mb": round(blob_mb, 1),
        "largest_blob_mb": round(largest_blob_mb, 1),
        "limit_records_per_s": limit["records"] / limit["seconds"],
        "pipeline_records_per_s": pipeline["records"] / pipeline["seconds"],
        "pipeline_mb_per_s": blob_mb / pipeline["seconds"],
        "ratio_pipeline_to_limit": limit["seconds"] / pipeline["seconds"],
        "emulator_alone_mb_per_s": blob_mb / alone,
        "emulator_warm_mb_per_s": blob_mb / warm,
        "requests": pipeline["requests"],
        "expected_requests": len(blobs) + _pages(len(blobs)),
        "retries": pipeline["retries"],
        "throttled": pipeline["throttled"],
        "seconds_waited": pipeline["seconds_waited"],
        "peak_rss_mb": round(pipeline["peak_rss_mb"], 1),
        "pipeline_seconds": pipeline["seconds"],
        "limit_seconds": limit["seconds"],
    }


def _pages(blobs: int, page_size: int = 100) -> int:
    return max(1, -(-blobs // page_size))


def _download(client: ManagementApiClient, blobs, folder: Path) -> tuple[list[Path], float]:
    """Fetch every blob once, as raw bytes (this also times the emulator alone)."""
    folder.mkdir()
    paths = []
    began = time.perf_counter()
    for index, blob in enumerate(blobs):
        path = folder / f"{index:05d}.json"
        path.write_bytes(client._transport.request("GET", blob.content_uri).content)
        paths.append(path)
    return paths, time.perf_counter() - began


def _serve_warm(client: ManagementApiClient, blobs, workers: int) -> float:
    """Seconds for the emulator alone to serve every blob again (from its cache), fetched
    concurrently and discarded: its serving rate, to compare with the pipeline's MB/s.
    """
    from concurrent.futures import ThreadPoolExecutor

    def fetch(blob) -> int:
        with client._transport.request("GET", blob.content_uri) as response:
            return len(response.content)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        sum(pool.map(fetch, blobs))
    return time.perf_counter() - began


def _client(base_url: str, ca: str, workers: int) -> ManagementApiClient:
    return ManagementApiClient(
        ClientSettings(
            tenant_id=TENANT_ID,
            client_id=DEFAULT_CLIENT_ID,
            credential=ClientSecret(DEFAULT_CLIENT_SECRET),
            api_base_url=base_url,
            login_base_url=base_url,
            ca_bundle=ca,
            max_concurrent_fetches=workers,
        )
    )


class _emulator:
    """The emulator in its own process, so it never competes with the pipeline's GIL."""

    def __init__(
        self,
        records_per_hour: int,
        latency_ms: int,
        scratch: Path,
        blobs_per_hour: int | None = None,
    ) -> None:
        self._command = [
            sys.executable,
            "-m",
            "o365_emulator",
            "--port",
            "0",
            "--tenant",
            TENANT_ID,
            "--records-per-hour",
            str(records_per_hour),
            "--ca-out",
            str(scratch / "ca.pem"),
            "--blob-cache-mb",
            str(max(4096, records_per_hour * 1200 >> 20)),
            "--requests-per-minute",
            "0",
        ]
        if blobs_per_hour:
            self._command += ["--blobs-per-hour", str(blobs_per_hour)]
        if latency_ms:
            self._command += ["--latency-ms", str(latency_ms)]
        self._ca = scratch / "ca.pem"

    def __enter__(self) -> tuple[str, str]:
        self._process = subprocess.Popen(self._command, stdout=subprocess.PIPE, text=True)
        banner = self._process.stdout.readline()
        return banner.strip().split(" on ")[1], str(self._ca)

    def __exit__(self, *exc_info: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=30)


def _print_ingest(row: dict) -> None:
    print(f"\n{row['records']:>9,} records in {row['blobs']} blobs ({row['blob_mb']} MB)")
    print(f"  limit (no HTTP)       {row['limit_records_per_s']:>10,.0f} records/s")
    print(
        f"  pipeline (emulator)   {row['pipeline_records_per_s']:>10,.0f} records/s "
        f"= {row['ratio_pipeline_to_limit']:.0%} of the limit, "
        f"{row['pipeline_mb_per_s']:.1f} MB/s"
    )
    print(
        f"  emulator cold render  {row['emulator_alone_mb_per_s']:>10,.1f} MB/s (serial, first "
        "fetch; later fetches come from its blob cache)"
    )
    print(
        f"  emulator warm, alone  {row['emulator_warm_mb_per_s']:>10,.1f} MB/s "
        "(every blob again, concurrently, same latency)"
    )
    print(
        f"  requests              {row['requests']} (listing pages + blobs = "
        f"{row['expected_requests']}), retries {row['retries']}"
    )
    print(f"  peak RSS              {row['peak_rss_mb']} MB")


def _print_slope(rows: list[dict]) -> None:
    """Peak RSS against the size of the one blob in the window (least squares)."""
    sizes = [row["largest_blob_mb"] for row in rows]
    rss = [row["peak_rss_mb"] for row in rows]
    mean_size, mean_rss = sum(sizes) / len(sizes), sum(rss) / len(rss)
    spread = sum((size - mean_size) ** 2 for size in sizes)
    slope = (
        sum((size - mean_size) * (value - mean_rss) for size, value in zip(sizes, rss, strict=True))
        / spread
        if spread
        else 0.0
    )
    print(f"\npeak RSS against blob size: {slope:.2f} MB of RSS per MB of blob")
    for size, value in zip(sizes, rss, strict=True):
        print(f"  {size:>6.1f} MB blob → {value:.0f} MB peak RSS")


def _print_queries(queries: dict) -> None:
    print(f"\nanalyst queries over {queries['rows']:,} rows (7 days × 5 content types):")
    for name, seconds in queries["seconds"].items():
        print(f"  {name:<32} {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
