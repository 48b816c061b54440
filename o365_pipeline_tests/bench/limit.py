"""The in-process limit: the same blob files converted and written to Parquet with no HTTP,
through the conversion the pipeline uses (one DuckDB load for the window's blobs, batches into
the partition writer) — the best exact conversion this machine does for our schema."""

import time
from datetime import UTC, datetime
from pathlib import Path

from o365_pipeline.records.window_records import BlobFile, WindowRecords
from o365_pipeline.storage.partition_writer import AuditPartitionWriter


def measure_limit(blob_files: list[Path], content_type: str, out: Path) -> dict:
    """Convert every saved blob body and write one partition; return seconds and counts."""
    now = datetime.now(UTC)
    blobs = [BlobFile(path, f"blob-{index}", now) for index, path in enumerate(blob_files)]
    records = 0
    began = time.perf_counter()
    with (
        WindowRecords(blobs, tenant="bench", content_type=content_type, ingested_at=now) as loaded,
        AuditPartitionWriter(out) as writer,
    ):
        for batch in loaded.batches():
            records += batch.num_rows
            writer.write(batch)
        writer.commit()
    return {"seconds": time.perf_counter() - began, "records": records}
