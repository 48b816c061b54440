"""The in-process limit: the same blob bodies parsed and written to Parquet with no HTTP —
the best this machine does for our schema."""

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from o365_pipeline.records.batches import records_to_batch
from o365_pipeline.storage.partition_writer import AuditPartitionWriter


def measure_limit(blob_files: list[Path], content_type: str, out: Path) -> dict:
    """Parse every saved blob body and write one partition; return seconds and counts."""
    now = datetime.now(UTC)
    records = 0
    began = time.perf_counter()
    with AuditPartitionWriter(out) as writer:
        for index, path in enumerate(blob_files):
            body = json.loads(path.read_bytes())
            records += len(body)
            writer.write(
                records_to_batch(
                    body,
                    tenant="bench",
                    content_type=content_type,
                    content_id=f"blob-{index}",
                    content_created=now,
                    ingested_at=now,
                )
            )
            del body
        writer.commit()
    return {"seconds": time.perf_counter() - began, "records": records}
