"""Schema drift: what a landed partition holds that the pipeline has not seen before.

Microsoft adds RecordTypes, Operations and fields without notice (about a quarter of one
tenant's RecordTypes were undocumented), and sends the same field as a number one day and a
string the next. Nothing here ever drops or fails a record: every record keeps its original
JSON in `raw_json`. This module only *describes* a partition (its profile) and compares it
with what earlier partitions of the same content type showed (the catalog), so a run can
report drift by count and by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from o365_pipeline.records.record_types import RECORD_TYPE_NAMES

# DuckDB's json_type names, folded into JSON's own kinds.
_JSON_KINDS = {
    "BIGINT": "number",
    "UBIGINT": "number",
    "DOUBLE": "number",
    "HUGEINT": "number",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "ARRAY": "array",
    "OBJECT": "object",
    "NULL": "null",
}


@dataclass(frozen=True)
class SchemaProfile:
    """What one or more partitions held: RecordTypes, Operations and top-level fields with the
    JSON kinds their values took (null aside).
    """

    record_types: frozenset[int] = frozenset()
    operations: frozenset[str] = frozenset()
    field_kinds: dict[str, frozenset[str]] = field(default_factory=dict)

    def merged(self, other: SchemaProfile) -> SchemaProfile:
        """Everything either profile saw."""
        kinds = dict(self.field_kinds)
        for name, seen in other.field_kinds.items():
            kinds[name] = kinds.get(name, frozenset()) | seen
        return SchemaProfile(
            self.record_types | other.record_types,
            self.operations | other.operations,
            kinds,
        )

    def to_json(self) -> dict:
        """A JSON-ready form (sorted, so the catalog file diffs cleanly)."""
        return {
            "record_types": sorted(self.record_types),
            "operations": sorted(self.operations),
            "field_kinds": {
                name: sorted(kinds) for name, kinds in sorted(self.field_kinds.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> SchemaProfile:
        """The inverse of `to_json`."""
        return cls(
            frozenset(int(value) for value in data.get("record_types", ())),
            frozenset(data.get("operations", ())),
            {name: frozenset(kinds) for name, kinds in data.get("field_kinds", {}).items()},
        )


@dataclass(frozen=True)
class SchemaDrift:
    """Drift of one partition against the catalog (names sorted; counts are their lengths)."""

    undocumented_record_types: tuple[int, ...]
    new_record_types: tuple[int, ...]
    new_operations: tuple[str, ...]
    new_fields: tuple[str, ...]
    fields_of_varying_kind: dict[str, tuple[str, ...]]
    first_sight: bool  # no catalog yet: everything is new, so only undocumented types count

    @property
    def any(self) -> bool:
        """Whether there is anything to report."""
        return bool(
            self.undocumented_record_types
            or self.new_record_types
            or self.new_operations
            or self.new_fields
            or self.fields_of_varying_kind
        )


def profile_partition(path: Path) -> SchemaProfile:
    """Profile one audit Parquet file from its `raw_json` (DuckDB, one pass per question)."""
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        return profile_source(connection, f"read_parquet('{_quoted(path)}')")


def profile_source(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    structure: str = "json_structure(raw_json)",
) -> SchemaProfile:
    """Profile the audit rows of `source` (a table expression) on `connection`; `structure` is
    the SQL of each record's `json_structure` (a column when the loader computed it already).
    """
    record_types = {
        row[0]
        for row in connection.execute(
            f"SELECT DISTINCT RecordType FROM {source} WHERE RecordType IS NOT NULL"
        ).fetchall()
    }
    operations = {
        row[0]
        for row in connection.execute(
            f"SELECT DISTINCT Operation FROM {source} WHERE Operation IS NOT NULL"
        ).fetchall()
    }
    # One structure per distinct record shape (a handful per partition), not one row per
    # field of every record: about 7 times faster than json_each on real-sized records.
    kinds: dict[str, set[str]] = {}
    for (shape_text,) in connection.execute(
        f"SELECT DISTINCT {structure} FROM {source}"
    ).fetchall():
        for name, shape in json.loads(shape_text).items():
            kinds.setdefault(name, set())
            if shape != "NULL":
                kinds[name].add(_kind_of(shape))
    return SchemaProfile(
        frozenset(record_types),
        frozenset(operations),
        {name: frozenset(seen) for name, seen in kinds.items()},
    )


def _kind_of(shape: object) -> str:
    """JSON's kind of a value from its `json_structure` shape ("JSON" is an empty object)."""
    if isinstance(shape, dict) or shape == "JSON":
        return "object"
    if isinstance(shape, list):
        return "array"
    return _JSON_KINDS.get(shape, str(shape).lower())


def compare(profile: SchemaProfile, catalog: SchemaProfile | None) -> SchemaDrift:
    """The drift of `profile` against what the catalog saw before (None = nothing yet)."""
    known = catalog or SchemaProfile()
    combined = known.merged(profile)
    return SchemaDrift(
        undocumented_record_types=tuple(
            sorted(value for value in profile.record_types if value not in RECORD_TYPE_NAMES)
        ),
        new_record_types=tuple(sorted(profile.record_types - known.record_types))
        if catalog
        else (),
        new_operations=tuple(sorted(profile.operations - known.operations)) if catalog else (),
        new_fields=tuple(sorted(set(profile.field_kinds) - set(known.field_kinds)))
        if catalog
        else (),
        fields_of_varying_kind={
            name: tuple(sorted(combined.field_kinds[name]))
            for name in sorted(profile.field_kinds)
            if len(combined.field_kinds[name]) > 1
        },
        first_sight=catalog is None,
    )


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
