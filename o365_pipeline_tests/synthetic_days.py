"""Whole days of hourly audit partitions built fast and without HTTP: the emulator's synthetic
blobs of each hour, converted by the project's record code and written by the same
`AuditPartitionWriter` and ledger the pipeline uses (24 real hourly partitions a day).

Landing a day through the API would take minutes; the daily tables only read what landed, so
writing the same bytes directly tests the same thing. `ground_truth` gives the Ids the emulator
serves in those hours, as its control endpoint computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from o365_emulator.synthetic import SyntheticTenants
from o365_pipeline.content_types import content_type_named
from o365_pipeline.pipeline.daily_compaction import day_hours
from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import LedgerEntry, write_ledger
from o365_pipeline.storage.partition_writer import AuditPartitionWriter

TENANT_ID = "6f0c1a2b-3d4e-4f5a-8b6c-7d8e9f0a1b2c"


def synthetic_tenants(records_per_hour: int = 30, redelivery_fraction: float = 0.1):
    """Two blobs an hour, a tenth of each a re-delivery from this or the previous hour."""
    return SyntheticTenants(
        records_per_hour=records_per_hour,
        redelivery_fraction=redelivery_fraction,
        seed=11,
        blobs_per_hour=2,
    )


def write_hour(
    layout: DataLayout,
    tenant: str,
    content_type: str,
    hour: datetime,
    tables: list[pa.Table],
    *,
    status: str = "complete",
) -> LedgerEntry:
    """One hourly partition from record tables, in order, with its ledger row."""
    path = layout.audit_file(content_type, tenant, hour)
    with AuditPartitionWriter(path) as writer:
        for table in tables:
            writer.write(table)
        write = writer.commit()
    entry = LedgerEntry(
        tenant=tenant,
        content_type=content_type,
        window_start=hour,
        window_end=hour + timedelta(hours=1),
        blobs_listed=len(tables),
        blobs_fetched=len(tables),
        blobs_failed=0,
        blobs_expired=0,
        records_read=sum(table.num_rows for table in tables),
        duplicates_dropped=write.duplicates_dropped,
        records_written=write.rows_written,
        bytes_written=write.bytes_written,
        started_at=hour,
        finished_at=hour,
        status=status,
        file_path=path.relative_to(layout.root).as_posix(),
        file_rows=write.file_rows,
        file_sha256=write.file_sha256,
    )
    write_ledger(layout.ledger_file(content_type, tenant, hour), entry, [])
    return entry


def blob_tables(
    tenants: SyntheticTenants, tenant: str, content_type: str, hour: datetime
) -> list[pa.Table]:
    """The hour's synthetic blobs as record tables, in contentCreated order."""
    kind = content_type_named(content_type)
    return [
        records_table(
            tenants.records(spec),
            tenant=tenant,
            content_type=content_type,
            content_id=spec.content_id,
            content_created=spec.content_created,
            ingested_at=spec.content_created + timedelta(minutes=5),
        )
        for spec in tenants.blobs_for_hour(TENANT_ID, kind, hour)
    ]


def land_day(
    layout: DataLayout, tenants: SyntheticTenants, tenant: str, content_type: str, day: date
) -> None:
    """The day's 24 hourly partitions and ledgers (`land_hours`)."""
    land_hours(layout, tenants, tenant, content_type, day_hours(day))


def land_hours(
    layout: DataLayout,
    tenants: SyntheticTenants,
    tenant: str,
    content_type: str,
    hours: Sequence[datetime],
) -> None:
    """The hours' partitions and ledgers; their records are converted in one go (one call of
    the record code instead of one per blob) and then cut back into their blobs.
    """
    kind = content_type_named(content_type)
    specs = [spec for hour in hours for spec in tenants.blobs_for_hour(TENANT_ID, kind, hour)]
    records = [tenants.records(spec) for spec in specs]
    moment = min(hours)
    converted = records_table(
        [record for blob in records for record in blob],
        tenant=tenant,
        content_type=content_type,
        content_id="",
        content_created=moment,
        ingested_at=moment,
    )
    by_hour: dict[datetime, list[pa.Table]] = {hour: [] for hour in hours}
    offset = 0
    for spec, blob in zip(specs, records, strict=True):
        table = relabelled(
            converted.slice(offset, len(blob)),
            content_id=spec.content_id,
            content_created=spec.content_created,
            ingested_at=spec.content_created + timedelta(minutes=5),
        )
        assert table.column("Id").to_pylist() == [record["Id"] for record in blob]
        by_hour[spec.hour].append(table)
        offset += len(blob)
    for hour, tables in by_hour.items():
        write_hour(layout, tenant, content_type, hour, tables)


def ground_truth(tenants: SyntheticTenants, content_type: str, day: date) -> set[str]:
    """Every Id the emulator serves in the day's 24 windows."""
    kind = content_type_named(content_type)
    return {
        record_id
        for hour in day_hours(day)
        for spec in tenants.blobs_for_hour(TENANT_ID, kind, hour)
        for record_id in tenants.record_ids(spec)
    }


def long_ago(days: int) -> date:
    """A UTC day far enough back to be settled."""
    return (datetime.now(UTC) - timedelta(days=days)).date()


def relabelled(table: pa.Table, **columns: object) -> pa.Table:
    """`table` with some ingestion columns set to one value (a re-delivery in another blob)."""
    for name, value in columns.items():
        index = table.schema.get_field_index(name)
        field = table.schema.field(index)
        table = table.set_column(index, field, pa.array([value] * table.num_rows, field.type))
    return table
