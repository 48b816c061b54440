"""The in-process limit: the same blob files converted and written to Parquet with no HTTP,
through the same conversion the pipeline uses — the best this machine does for our schema."""

import time
from datetime import UTC, datetime
from pathlib import Path

from o365_pipeline.records.blob_reader import read_blob
from o365_pipeline.storage.partition_writer import AuditPartitionWriter


def measure_limit(blob_files: list[Path], content_type: str, out: Path) -> dict:
    """Convert every saved blob body and write one partition; return seconds and counts."""
    now = datetime.now(UTC)
    records = 0
    began = time.perf_counter()
    with AuditPartitionWriter(out) as writer:
        for index, path in enumerate(blob_files):
            table = read_blob(
                path,
                tenant="bench",
                content_type=content_type,
                content_id=f"blob-{index}",
                content_created=now,
                ingested_at=now,
            )
            records += table.num_rows
            writer.write(table)
        writer.commit()
    return {"seconds": time.perf_counter() - began, "records": records}
