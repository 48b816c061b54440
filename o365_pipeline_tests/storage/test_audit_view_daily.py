"""The `audit` view over daily tables plus the hourly remainder equals the old query-time
de-duplication over every hourly file, row for row, as sets."""

import re
import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from o365_pipeline.pipeline.daily_compaction import compact_daily_table
from o365_pipeline.records.schema import COMMON_COLUMNS, INGESTION_COLUMNS
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.views import connect
from o365_pipeline_tests.synthetic_days import land_day, long_ago, synthetic_tenants

TENANT = "contoso"
CONTENT_TYPES = ("Audit.Exchange", "Audit.SharePoint")
DAYS = [long_ago(12), long_ago(11)]
_COLUMNS = ", ".join(
    f'"{name}"' for name in (*COMMON_COLUMNS, *INGESTION_COLUMNS, "date", "hour", "raw_json")
)
OLD_AUDIT = (
    f"SELECT {_COLUMNS} FROM audit_all QUALIFY row_number() OVER "
    "(PARTITION BY tenant, Id ORDER BY content_created, content_id) = 1"
)
NEW_AUDIT = f"SELECT {_COLUMNS} FROM audit"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """Two days of two content types; the first day compacted, the second left hourly."""
    layout = DataLayout(tmp_path_factory.mktemp("audit_view") / "data")
    tenants = synthetic_tenants()
    for content_type in CONTENT_TYPES:
        for day in DAYS:
            land_day(layout, tenants, TENANT, content_type, day)
        for day in DAYS[:1]:
            compact_daily_table(
                layout,
                None,
                tenant=TENANT,
                content_type=content_type,
                day=day,
                clock=lambda: datetime.now(UTC),
            )
    return layout.root


def _difference(connection, left: str, right: str) -> int:
    return connection.execute(f"SELECT count(*) FROM ({left} EXCEPT ALL {right})").fetchone()[0]


def test_audit_over_daily_tables_equals_the_old_deduplication_as_sets(data_root):
    with connect(data_root) as connection:
        assert _difference(connection, NEW_AUDIT, OLD_AUDIT) == 0
        assert _difference(connection, OLD_AUDIT, NEW_AUDIT) == 0
        total, distinct = connection.execute(
            "SELECT count(*), count(DISTINCT (tenant, Id)) FROM audit"
        ).fetchone()
        assert total == distinct > 0


def test_compacted_days_come_from_the_daily_files_not_their_hours(data_root):
    with connect(data_root) as connection:
        (definition,) = connection.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'audit'"
        ).fetchone()
        daily_rows = connection.execute("SELECT sum(rows_written) FROM daily_ledger").fetchone()[0]
        compacted = connection.execute(
            "SELECT count(*) FROM audit WHERE date = ?", [DAYS[0]]
        ).fetchone()[0]
    assert "/daily/" in definition
    assert f"date={DAYS[1]}/hour=" in definition
    assert f"date={DAYS[0]}/hour=" not in definition
    assert compacted == daily_rows


def test_audit_keeps_its_columns_and_types(data_root, tmp_path):
    with connect(data_root) as connection:
        daily_aware = connection.execute("DESCRIBE audit").fetchall()
    (tmp_path / "hourly_only").mkdir()
    with connect(tmp_path / "hourly_only") as connection:
        hourly_only = connection.execute("DESCRIBE audit").fetchall()
    assert [row[:2] for row in daily_aware] == [row[:2] for row in hourly_only]
    assert [row[0] for row in daily_aware][-3:] == ["raw_json", "client_address", "client_port"]


def test_a_damaged_daily_file_falls_back_to_its_hours(data_root, tmp_path):
    copy = shutil.copytree(data_root, tmp_path / "data")
    layout = DataLayout(copy)
    layout.daily_file(CONTENT_TYPES[0], TENANT, DAYS[0]).write_bytes(b"not parquet")
    skipped = []
    with connect(copy, on_damaged=skipped.append) as connection:
        assert _difference(connection, NEW_AUDIT, OLD_AUDIT) == 0
        assert _difference(connection, OLD_AUDIT, NEW_AUDIT) == 0
    assert [damaged.path for damaged in skipped] == [
        str(layout.daily_file(CONTENT_TYPES[0], TENANT, DAYS[0]))
    ]


def _daily_read(definition: str) -> str:
    """The options `audit`'s definition reads the daily files with (the same everywhere)."""
    calls = re.findall(r"read_parquet\('[^']*/daily/[^']*',(.*?)(?:UNION ALL|WHERE|;)", definition)
    (options,) = {call.strip().rstrip(")") for call in calls}
    return options


def test_daily_files_of_one_schema_are_read_without_union_by_name(data_root):
    with connect(data_root) as connection:
        (definition,) = connection.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'audit'"
        ).fetchone()
    assert "union_by_name" not in _daily_read(definition)


def test_a_daily_file_with_other_columns_is_read_by_name(data_root, tmp_path):
    copy = shutil.copytree(data_root, tmp_path / "data")
    path = DataLayout(copy).daily_file(CONTENT_TYPES[0], TENANT, DAYS[0])
    with duckdb.connect() as writer:
        writer.execute(
            f"COPY (SELECT 'later' AS added_column, * FROM read_parquet('{path}')) "
            f"TO '{path}.new' (FORMAT parquet)"
        )
    path.with_name(f"{path.name}.new").replace(path)
    with connect(copy) as connection:
        (definition,) = connection.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'audit'"
        ).fetchone()
        assert "union_by_name = true" in _daily_read(definition)
        assert _difference(connection, NEW_AUDIT, OLD_AUDIT) == 0
        assert _difference(connection, OLD_AUDIT, NEW_AUDIT) == 0
