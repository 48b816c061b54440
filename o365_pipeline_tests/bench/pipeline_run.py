"""One measured ingestion, run in its own process so its peak RSS is its own:
emulator over loopback → client → records → Parquet, for one window of one content type.

Prints one JSON line: seconds, records, bytes, requests, retries, peak RSS.
"""

import argparse
import json
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.settings import ClientSecret, ClientSettings
from o365_pipeline.api.windows import Window
from o365_pipeline.pipeline.audit_table import ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.storage.layout import DataLayout


def main() -> None:
    """Parse arguments, ingest the window, print the measurements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--tenant-id", required=True)
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--window-start", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    start = datetime.fromisoformat(args.window_start).astimezone(UTC)
    window = Window(start, start + timedelta(hours=1))
    client = ManagementApiClient(
        ClientSettings(
            tenant_id=args.tenant_id,
            client_id=DEFAULT_CLIENT_ID,
            credential=ClientSecret(DEFAULT_CLIENT_SECRET),
            api_base_url=args.base_url,
            login_base_url=args.base_url,
            ca_bundle=args.ca,
            max_concurrent_fetches=args.workers,
        )
    )
    layout = DataLayout(args.data_dir)
    client.list_subscriptions()  # token and TLS set-up, outside the timing
    baseline = client.stats.requests
    began = time.perf_counter()
    listing = list_window(
        client,
        layout,
        tenant="bench",
        content_type=args.content_type,
        window=window,
        now=datetime.now(UTC),
    )
    report = ingest_window(
        client,
        layout,
        tenant="bench",
        content_type=args.content_type,
        window=window,
        clock=lambda: datetime.now(UTC),
    )
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "seconds": seconds,
                "records": report.ledger.records_read,
                "records_written": report.ledger.records_written,
                "parquet_bytes": report.ledger.bytes_written,
                "blobs": len(listing.blobs),
                "requests": client.stats.requests - baseline,
                "retries": client.stats.retries,
                "throttled": client.stats.throttled,
                "seconds_waited": client.stats.seconds_waited,
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    )


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Not `ru_maxrss`: on Linux that keeps the high-water mark
    of the forked copy of the parent across exec, so a big parent inflates it.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
