"""Create the typed workload views over `audit` and describe them in DuckDB itself.

The views are derived in SQL from `raw_json` at query time, so the raw record stays the truth:
a field Microsoft adds tomorrow is already in `raw_json`, and a column added to the catalog
applies to every record landed so far, without re-landing anything. They read `audit`, so
each (tenant, Id) appears once, whatever `audit` is built from.

`COMMENT ON` puts each view's and column's description where `duckdb_views()`,
`duckdb_columns()` and SQL clients show it.

DuckDB binds a view when it is created, and binding `audit` reads the footer of every Parquet
file it lists (measured: 0.2 s per view at 510 hourly files, 1.5 s for the seven). So the views
(and commented: a comment re-binds its view) against a typed, empty stand-in of `audit` (a
temporary view with `audit`'s own column types, read from the catalog without binding it),
and read the real `audit` at query time: DuckDB re-binds a view's SQL on every query, and
checks the types still match.
"""

from __future__ import annotations

import duckdb

from o365_pipeline.storage.workload_columns import (
    AUDIT_COLUMNS,
    AUDIT_DESCRIPTION,
    WORKLOAD_VIEWS,
    WorkloadView,
)


def create_workload_views(connection: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every workload view over the connection's `audit`, with its comments; also
    comment `audit` and those of its columns the catalog describes.
    """
    columns = _audit_columns(connection)
    if not columns:
        raise ValueError("create the `audit` view before the workload views that read it")
    stand_in = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in columns)
    connection.execute(f"CREATE OR REPLACE TEMP VIEW audit AS SELECT {stand_in} WHERE false")
    try:
        for view in WORKLOAD_VIEWS:
            connection.execute(create_view_sql(view))
            for statement in comment_sql(view):  # a comment re-binds its view: here, cheaply
                connection.execute(statement)
    finally:
        connection.execute("DROP VIEW temp.main.audit")
    _comment_audit(connection, {name for name, _ in columns})


def create_view_sql(view: WorkloadView) -> str:
    """The CREATE VIEW statement of one workload view."""
    return f'CREATE OR REPLACE VIEW "{view.name}" AS\n{view.select_sql()}'


def comment_sql(view: WorkloadView) -> list[str]:
    """COMMENT ON statements for the view and each of its columns."""
    statements = [f'COMMENT ON VIEW "{view.name}" IS {_literal(view.description)}']
    statements += [
        f'COMMENT ON COLUMN "{view.name}"."{column.name}" IS {_literal(column.description)}'
        for column in view.columns
    ]
    return statements


def _audit_columns(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """`audit`'s columns and types as the catalog recorded them when it was created."""
    return connection.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'audit' "
        "AND schema_name = 'main' AND database_name = current_database() "
        "ORDER BY column_index"
    ).fetchall()


def _comment_audit(connection: duckdb.DuckDBPyConnection, present: set[str]) -> None:
    """Comments on `audit`, for the columns it has (it is built elsewhere and may grow)."""
    connection.execute(f"COMMENT ON VIEW audit IS {_literal(AUDIT_DESCRIPTION)}")
    for name, _, description in AUDIT_COLUMNS:
        if name in present:
            connection.execute(f'COMMENT ON COLUMN audit."{name}" IS {_literal(description)}')


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
