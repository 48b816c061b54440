"""Every SQL example in README.md runs on the demo's data, through the live views and through
the portable file `views --out` writes, and returns rows unless it reads a view that lists
only trouble (empty while every hour is complete)."""

import re
from pathlib import Path

import pytest

from o365_pipeline.storage.portable_database import write_portable_database
from o365_pipeline.storage.views import connect

README = Path(__file__).resolve().parents[1] / "README.md"
SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.MULTILINE | re.DOTALL)
STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")
# Views that list only what went wrong: on healthy demo data they are rightly empty (findings:
# unless one of the emulator's planted patterns falls in the demo's two hours).
EMPTY_WHEN_HEALTHY = ("ledger_with_health", "findings")


def readme_statements(markdown: str) -> list[str]:
    """The statements of every ```sql block, in order (comment-only pieces dropped)."""
    statements = []
    for block in SQL_BLOCK.findall(markdown):
        for piece in STATEMENT_END.split(block):
            code = [line for line in piece.splitlines() if not line.strip().startswith("--")]
            if "".join(code).strip():
                statements.append(piece.strip())
    return statements


def _label(statement: str) -> str:
    comments = [line for line in statement.splitlines() if line.strip().startswith("--")]
    first = (comments or statement.splitlines())[0]
    return first.strip("- ")[:60]


STATEMENTS = readme_statements(README.read_text())


@pytest.fixture(scope="module")
def sources(demo_data, tmp_path_factory):
    """The demo data through the live views, and through a portable file written from them."""
    import duckdb

    live = connect(demo_data)
    path = tmp_path_factory.mktemp("readme") / "o365.duckdb"
    write_portable_database(live, path, source=str(demo_data))
    snapshot = duckdb.connect(str(path), read_only=True)
    yield {"views": live, "file": snapshot}
    live.close()
    snapshot.close()


def test_the_readme_has_sql_examples_to_check():
    assert len(STATEMENTS) >= 4
    assert all(statement.upper().lstrip("-").strip() for statement in STATEMENTS)


@pytest.mark.parametrize("source", ["views", "file"])
@pytest.mark.parametrize("statement", STATEMENTS, ids=[_label(s) for s in STATEMENTS])
def test_each_readme_query_answers_on_the_demo_data(statement, source, sources):
    rows = sources[source].execute(statement).fetchall()
    if not any(view in statement for view in EMPTY_WHEN_HEALTHY):
        assert rows, f"returned no rows on the demo's data: {statement}"
