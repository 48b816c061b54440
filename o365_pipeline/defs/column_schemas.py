"""Column descriptions on the audit assets, from the same catalog as the DuckDB views.

Dagster shows an asset's `dagster/column_schema` in its Columns tab: for an audit asset that is
the Parquet table it writes (one file per tenant and hour). The typed workload views derived
from that content type's records are attached beside it, one `TableSchema` each, so the
catalog reads the same in the UI, in DuckDB's comments and in `docs/views.md`.
"""

from __future__ import annotations

import dagster as dg

from o365_pipeline.content_types import ContentType
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.storage.workload_columns import AUDIT_COLUMNS, WORKLOAD_VIEWS

COLUMN_SCHEMA_KEY = "dagster/column_schema"
WORKLOAD_VIEW_PREFIX = "workload_view/"
_HIVE_COLUMNS = ("date", "hour")


def audit_table_schema() -> dg.TableSchema:
    """The columns of an audit table as DuckDB reads it (the stored columns and the hour's
    `date`/`hour` folders), with their descriptions.
    """
    described = {name: (kind, text) for name, kind, text in AUDIT_COLUMNS}
    names = [*AUDIT_SCHEMA.names, *_HIVE_COLUMNS]
    return dg.TableSchema(
        columns=[dg.TableColumn(name, described[name][0], described[name][1]) for name in names]
    )


def workload_view_schemas(content_type: ContentType) -> dict[str, dg.TableSchema]:
    """The typed views over this content type's records, by view name."""
    return {
        view.name: dg.TableSchema(
            columns=[
                dg.TableColumn(column.name, column.type, column.description)
                for column in view.columns
            ]
        )
        for view in WORKLOAD_VIEWS
        if view.content_type == content_type.name
    }


def audit_asset_metadata(content_type: ContentType) -> dict[str, object]:
    """Definition metadata of a content type's audit asset: its column schema and those of the
    workload views derived from it.
    """
    views = {
        f"{WORKLOAD_VIEW_PREFIX}{name}": dg.MetadataValue.table_schema(schema)
        for name, schema in workload_view_schemas(content_type).items()
    }
    return {COLUMN_SCHEMA_KEY: audit_table_schema(), **views}
