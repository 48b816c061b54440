"""o365-pipeline: Office 365 Management Activity API audit logs → Dagster → Parquet → DuckDB."""

from o365_pipeline.config import prefer_system_allocator_for_arrow

prefer_system_allocator_for_arrow()
