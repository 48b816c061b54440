"""Report the schema drift of a landed partition and fold it into the content type's catalog."""

from __future__ import annotations

from pathlib import Path

from o365_pipeline.records.schema_drift import (
    SchemaDrift,
    SchemaProfile,
    compare,
    profile_partition,
)
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.schema_catalog import load_catalog, save_catalog


def report_schema_drift(layout: DataLayout, content_type: str, partition: Path) -> SchemaDrift:
    """Compare the partition with what this content type showed before, then remember it."""
    return report_profile_drift(layout, content_type, profile_partition(partition))


def report_profile_drift(
    layout: DataLayout, content_type: str, profile: SchemaProfile
) -> SchemaDrift:
    """`report_schema_drift` for a profile computed while the partition was written."""
    catalog_path = layout.schema_catalog_file(content_type)
    catalog = load_catalog(catalog_path)
    drift = compare(profile, catalog)
    save_catalog(catalog_path, catalog.merged(profile) if catalog else profile)
    return drift
