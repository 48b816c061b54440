"""The audit assets carry their column descriptions (`dagster/column_schema`, the Columns tab)
and the schemas of the workload views derived from them, from the same catalog as DuckDB."""

import dagster as dg
import pytest

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import audit_key, build_landing_assets
from o365_pipeline.defs.column_schemas import COLUMN_SCHEMA_KEY, WORKLOAD_VIEW_PREFIX
from o365_pipeline.defs.partitions import audit_partitions
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.storage.workload_columns import WORKLOAD_VIEWS
from o365_pipeline.tenants import DEMO_TENANTS


@pytest.mark.parametrize("content_type", CONTENT_TYPES, ids=lambda kind: kind.slug)
def test_each_audit_asset_describes_its_columns_and_its_workload_views(content_type):
    (assets,) = build_landing_assets([content_type], DEMO_TENANTS, audit_partitions())
    metadata = assets.specs_by_key[audit_key(content_type)].metadata

    schema = metadata[COLUMN_SCHEMA_KEY]
    assert isinstance(schema, dg.TableSchema)
    assert [column.name for column in schema.columns] == [*AUDIT_SCHEMA.names, "date", "hour"]
    assert all(column.description for column in schema.columns)
    views = {
        key[len(WORKLOAD_VIEW_PREFIX) :]: value
        for key, value in metadata.items()
        if key.startswith(WORKLOAD_VIEW_PREFIX)
    }
    expected = {
        view.name: view for view in WORKLOAD_VIEWS if view.content_type == content_type.name
    }
    assert set(views) == set(expected) and expected
    for name, value in views.items():
        columns = value.schema.columns
        assert [(c.name, c.type) for c in columns] == [
            (c.name, c.type) for c in expected[name].columns
        ]
        assert all(column.description for column in columns)
