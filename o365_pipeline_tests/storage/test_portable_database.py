"""The portable DuckDB file: source views become tables, every other view is re-created over
them (the per-content-type views narrow `audit_all` instead of storing rows twice), comments
travel with them, and a failed write leaves no file behind."""

import duckdb
import pytest

from o365_pipeline.storage.portable_database import write_portable_database
from o365_pipeline.storage.views import connect


def test_file_reading_views_become_tables_and_the_rest_stay_views(demo_data, tmp_path):
    out = tmp_path / "o365.duckdb"
    with connect(demo_data) as connection:
        written = write_portable_database(connection, out, source=str(demo_data))
        exchange = connection.execute("SELECT count(*) FROM audit_exchange").fetchall()[0][0]
    with duckdb.connect(str(out), read_only=True) as copy:
        tables = {
            row[0] for row in copy.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        views = {
            row[0]
            for row in copy.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        narrowed = copy.execute("SELECT count(*) FROM audit_exchange").fetchall()[0][0]
        comment = copy.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'audit'"
        ).fetchall()[0][0]
        (source,) = copy.execute("SELECT data_folder FROM snapshot").fetchall()[0]
    assert {"audit", "audit_all", "ledger", "ledger_blobs", "listings", "snapshot"} <= tables
    assert {"sign_ins", "dlp_matches", "freshness", "audit_exchange"} <= views
    assert not tables & views
    assert narrowed == exchange > 0
    assert comment and "once" in comment
    assert source == str(demo_data)
    assert written.tables["audit"] > 0 and written.bytes == out.stat().st_size


def test_a_view_the_file_cannot_hold_fails_the_write_and_leaves_no_file(tmp_path):
    """A view over something only the live connection has (here a macro) cannot be re-created
    in the file: the write fails by name, and neither the file nor its temporary remains.
    """
    out = tmp_path / "o365.duckdb"
    with connect(tmp_path / "data") as connection:
        connection.execute("CREATE MACRO only_here() AS 42")
        connection.execute("CREATE VIEW uses_a_macro AS SELECT only_here() AS answer")
        with pytest.raises(duckdb.Error, match="only_here"):
            write_portable_database(connection, out, source="nowhere")
        assert connection.execute("SELECT answer FROM uses_a_macro").fetchall() == [(42,)]
    assert [path.name for path in tmp_path.iterdir()] == []
