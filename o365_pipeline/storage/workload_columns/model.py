"""The shape of the column catalog: a view, its columns, and what each column means.

Everything else (the CREATE VIEW statements, DuckDB's `COMMENT ON`, `docs/views.md` and the
Dagster `TableSchema`s) is generated from these values, so a column is described once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of a view.

    Attributes:
        name: the column name analysts type.
        type: its DuckDB type; a derived value is `TRY_CAST` to it, so a record whose field has
            another shape gets NULL here instead of failing the query (the record stays whole
            in `raw_json`).
        sql: the expression over the view's source row (`audit` plus the prepared values).
        description: one sentence for the reference, `COMMENT ON COLUMN` and Dagster.
        passthrough: the value is an `audit` column taken as it is (no cast, so filters on it
            reach the Parquet scan).

    """

    name: str
    type: str
    sql: str
    description: str
    passthrough: bool = False

    def select_sql(self) -> str:
        """The column as it appears in the view's SELECT list."""
        if self.passthrough:
            return f'{self.sql} AS "{self.name}"'
        return f'TRY_CAST({self.sql} AS {self.type}) AS "{self.name}"'


@dataclass(frozen=True)
class Prepared:
    """A value computed once per row (a parsed list, say) that several columns read."""

    name: str
    sql: str


@dataclass(frozen=True)
class WorkloadView:
    """A typed view over `audit`: the rows of some RecordTypes, each exactly once.

    Attributes:
        name: the view name.
        content_type: the content type these records land in (for the Dagster asset).
        record_types: the RecordType values it shows; every `audit` row with one of them is a
            row of the view (no filter drops a record whose fields are odd).
        description: what the view is for, one or two sentences.
        columns: in order.
        prepared: values computed once per row before the columns.

    """

    name: str
    content_type: str
    record_types: tuple[int, ...]
    description: str
    columns: tuple[Column, ...]
    prepared: tuple[Prepared, ...] = ()

    def select_sql(self) -> str:
        """The view's query over `audit`."""
        kinds = ", ".join(str(record_type) for record_type in self.record_types)
        prepared = "".join(f",\n        {value.sql} AS {value.name}" for value in self.prepared)
        columns = ",\n    ".join(column.select_sql() for column in self.columns)
        return (
            f"SELECT\n    {columns}\n"
            f"FROM (\n    SELECT *{prepared}\n    FROM audit WHERE RecordType IN ({kinds})\n)"
        )
