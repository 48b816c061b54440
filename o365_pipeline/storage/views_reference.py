"""`docs/views.md`, the analysts' reference of views and columns, generated from the column
catalog (`python -m o365_pipeline.storage.views_reference > docs/views.md`); a test keeps the
file equal to it, so the reference cannot drift from the views.
"""

from __future__ import annotations

import sys

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.storage.findings import FINDINGS_COLUMNS, FINDINGS_DESCRIPTION, FINDINGS_VIEW
from o365_pipeline.storage.workload_columns import (
    AUDIT_COLUMNS,
    AUDIT_DESCRIPTION,
    WORKLOAD_VIEWS,
    WorkloadView,
)

_OTHER_VIEWS = (
    ("audit_all", "Every stored delivery of every content type (re-deliveries included)."),
    *(
        (kind.slug, f"Every stored delivery of {kind.name}: {kind.description}")
        for kind in CONTENT_TYPES
    ),
    ("ledger", "Completeness per tenant × content type × hour: blobs listed, fetched, lost."),
    ("ledger_blobs", "Each blob of each hour and what became of it."),
    ("listings", "The content blobs each hour's listing returned."),
    ("freshness", "Per tenant × content type: newest content and ingestion lag."),
    ("service_health_issues", "Microsoft 365 service health issues, latest version each."),
    ("ledger_with_health", "Each incomplete or late hour beside the service issues open then."),
)


def views_reference() -> str:
    """The markdown text of `docs/views.md`."""
    lines = [
        "# Views and columns",
        "",
        "Generated from `o365_pipeline/storage/workload_columns/` and "
        "`o365_pipeline/storage/findings.py` by "
        "`python -m o365_pipeline.storage.views_reference > docs/views.md`; do not edit by hand.",
        "The same descriptions are in DuckDB (`SELECT * FROM duckdb_columns()`) and on the "
        "Dagster audit assets (Columns).",
        "",
        "The workload views are derived from `raw_json` at query time: the original record "
        "stays the truth, a field that is not a column is still in `raw_json`, and a field of "
        "an unexpected shape is NULL in its column (never a lost row). Each view has exactly "
        "one row per `audit` row of its RecordTypes.",
        "",
        "## audit",
        "",
        AUDIT_DESCRIPTION,
        "",
        *_table((name, kind, description) for name, kind, description in AUDIT_COLUMNS),
    ]
    for view in WORKLOAD_VIEWS:
        lines += ["", *_section(view)]
    lines += ["", f"## {FINDINGS_VIEW}", "", FINDINGS_DESCRIPTION, "", *_table(FINDINGS_COLUMNS)]
    lines += ["", "## Other views", "", "| view | what it holds |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in _OTHER_VIEWS]
    return "\n".join(lines) + "\n"


def _section(view: WorkloadView) -> list[str]:
    kinds = ", ".join(str(record_type) for record_type in view.record_types)
    return [
        f"## {view.name}",
        "",
        view.description,
        f"RecordType {kinds}, in {view.content_type}.",
        "",
        *_table((column.name, column.type, column.description) for column in view.columns),
    ]


def _table(rows) -> list[str]:
    header = ["| column | type | description |", "|---|---|---|"]
    return header + [f"| `{name}` | `{kind}` | {_cell(text)} |" for name, kind, text in rows]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    sys.stdout.write(views_reference())
