"""`o365-pipeline sql` keeps answering over the undamaged data when one Parquet file is
damaged, and names the file it left out on stderr."""

import duckdb

from o365_pipeline.cli import main
from o365_pipeline_tests.damage import truncate


def _sql(capfd, data_dir, query):
    code = main(["sql", "--data-dir", str(data_dir), query])
    out, err = capfd.readouterr()
    return code, out, err


def _rows(paths):
    with duckdb.connect() as connection:
        listed = [str(path) for path in paths]
        return connection.execute(f"SELECT count(*) FROM read_parquet({listed!r})").fetchone()[0]


def test_select_1_and_a_count_work_with_one_damaged_file_named_on_stderr(landed_dataset, capfd):
    damaged = landed_dataset.audit_file(landed_dataset.windows[0])
    intact = [landed_dataset.audit_file(window) for window in landed_dataset.windows[1:]]
    truncate(damaged)

    one = _sql(capfd, landed_dataset.root, "SELECT 42 AS answer")
    counted = _sql(capfd, landed_dataset.root, "SELECT 'rows=' || count(*) FROM audit_all")

    for code, _, err in (one, counted):
        assert code == 0
        (line,) = err.splitlines()
        assert line.startswith(f"skipped damaged file {damaged}: ")
        assert line.endswith("; run o365-pipeline verify")
    assert "42" in one[1]
    assert f"rows={_rows(intact)}" in counted[1]


def test_without_damage_nothing_is_written_to_stderr(landed_dataset, capfd):
    code, out, err = _sql(capfd, landed_dataset.root, "SELECT 'rows=' || count(*) FROM audit_all")

    assert code == 0 and err == ""
    assert f"rows={_rows(landed_dataset.audit_file(w) for w in landed_dataset.windows)}" in out
