"""A week of audit data at a chosen daily scale, for the query timings.

Real-shaped seed rows come from the emulator's synthetic tenant (one hour per content type,
converted by the project's own record code); DuckDB replicates them across 7 days × 24 hours
with fresh Ids into the project's Hive layout, which is much faster than ingesting a week
through HTTP and measures the same thing: how the views answer over that many rows.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from o365_emulator.synthetic import SyntheticTenants
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.records.schema import AUDIT_SCHEMA

SEED_RECORDS = 2_000
TENANT_ID = "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"
HOURS = 7 * 24


def build_week(root: Path, *, records_per_day: int) -> int:
    """Write 7 days × 5 content types totalling `records_per_day` a day; return the row count."""
    seed = _seed_rows()
    per_hour = max(1, records_per_day // len(CONTENT_TYPES) // 24)
    copies = -(-per_hour // SEED_RECORDS)
    start = (datetime.now(UTC) - timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    columns = ", ".join(
        f'"{name}"'
        for name in AUDIT_SCHEMA.names
        if name not in ("Id", "CreationTime", "content_created", "tenant", "content_type")
    )
    (root / "audit").mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("seed", seed)
        connection.execute(f"""
            COPY (
              SELECT md5(s.Id || '-' || h.i || '-' || c.j) AS Id,
                     TIMESTAMPTZ '{start.isoformat()}' + to_hours(h.i)
                       - to_minutes(CAST(random() * 90 AS INTEGER)) AS CreationTime,
                     {columns},
                     TIMESTAMPTZ '{start.isoformat()}' + to_hours(h.i) AS content_created,
                     'bench' AS tenant, s.content_type,
                     strftime(TIMESTAMPTZ '{start.isoformat()}' + to_hours(h.i),
                              '%Y-%m-%d') AS date,
                     hour(TIMESTAMPTZ '{start.isoformat()}' + to_hours(h.i)) AS hour
              FROM seed s, range({HOURS}) h(i), range({copies}) c(j)
              WHERE s.position < {per_hour} - c.j * {SEED_RECORDS}
            ) TO '{root / "audit"}' (FORMAT parquet, COMPRESSION zstd,
                                     PARTITION_BY (content_type, tenant, date, hour))""")
        return connection.execute(
            f"SELECT count(*) FROM read_parquet('{root}/audit/*/*/*/*/*.parquet')"
        ).fetchone()[0]


def _seed_rows() -> pa.Table:
    tenants = SyntheticTenants(records_per_hour=SEED_RECORDS, redelivery_fraction=0.0, seed=7)
    hour = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    batches = []
    for content_type in CONTENT_TYPES:
        records = [
            record
            for spec in tenants.blobs_for_hour(TENANT_ID, content_type, hour)
            for record in tenants.records(spec)
        ][:SEED_RECORDS]
        batch = records_table(
            records,
            tenant="bench",
            content_type=content_type.name,
            content_id="seed",
            content_created=hour,
            ingested_at=hour,
        )
        table = batch
        batches.append(table.append_column("position", pa.array(range(table.num_rows))))
    return pa.concat_tables(batches)
