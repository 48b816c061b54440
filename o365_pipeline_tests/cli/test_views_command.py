"""`o365-pipeline views --out FILE` writes a DuckDB file that a stock DuckDB, in another
process and another folder, queries with every view answering, even after the data folder
is gone: it is a snapshot, not a set of paths."""

import json
import shutil
import subprocess
import sys

from o365_pipeline.cli import main
from o365_pipeline.storage.views import connect
from o365_pipeline.storage.workload_columns import WORKLOAD_VIEWS

# Run by a plain interpreter: nothing of this project is imported, only duckdb.
_STOCK_CLIENT = """
import json, sys, duckdb
with duckdb.connect(sys.argv[1], read_only=True) as connection:
    names = [row[0] for row in connection.execute(
        "SELECT table_name FROM duckdb_tables() UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
    counts = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
              for name in names}
    comment = connection.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'sign_ins' "
        "AND column_name = 'client_address'").fetchall()[0][0]
print(json.dumps({"counts": counts, "comment": comment}))
"""


def test_the_views_file_answers_every_view_from_another_folder_without_the_data(
    demo_data, tmp_path, capfd
):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    out = tmp_path / "analyst" / "o365.duckdb"
    with connect(data) as connection:
        live = {
            name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
            for name in ["audit", "audit_all", "audit_exchange", "ledger", "freshness"]
            + [view.name for view in WORKLOAD_VIEWS]
        }

    code = main(["views", "--data-dir", str(data), "--out", str(out)])
    printed = capfd.readouterr().out
    shutil.rmtree(data)  # nothing in the file may depend on the data folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = elsewhere / "copy.duckdb"
    shutil.move(out, moved)
    answer = subprocess.run(
        [sys.executable, "-c", _STOCK_CLIENT, moved.name],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert code == 0 and f"Wrote {out}" in printed
    assert answer.returncode == 0, answer.stderr[-2000:]
    result = json.loads(answer.stdout)
    assert {name: result["counts"][name] for name in live} == live
    assert all(live[view.name] > 0 for view in WORKLOAD_VIEWS)
    assert result["counts"]["snapshot"] == 1
    assert result["comment"].startswith("The client's address alone")
