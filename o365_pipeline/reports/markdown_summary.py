"""The daily report as Markdown, for a UI that renders Markdown (the Dagster asset's metadata):
the same numbers as the HTML page, the charts embedded as base64 `data:` images.

Values from records are hostile input. In tables they are code spans (a fence longer than
any run of backticks in the value, pipes escaped as GFM tables require), so nothing in them is
Markdown: no link, image or raw HTML, and no autolink of an address or URL (the UI's GFM turns
a bare `https://…` or `user@host` into a link otherwise). Other text gets a backslash before
every ASCII punctuation character (CommonMark allows that escape for all of them). Line breaks
become spaces so a value stays on its line.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence

from o365_pipeline.reports.charts import Chart
from o365_pipeline.reports.day_facts import DayFacts
from o365_pipeline.reports.html_page import png_data_uri

_PUNCTUATION = set(string.punctuation)


def render_markdown(facts: DayFacts, charts: Sequence[Chart]) -> str:
    """The report for `facts` as Markdown, with `charts` embedded."""
    by_name = {chart.file_name: chart for chart in charts}
    counts = facts.ledger_status_counts
    due = sum(count for status, count in counts.items() if status != "not_due")
    parts = [
        f"### {escape_markdown(facts.tenant)}, {facts.day.isoformat()} (UTC)",
        f"{facts.events} events; sign-ins {facts.successful_sign_ins} succeeded, "
        f"{facts.failed_sign_ins} failed; {facts.dlp_matches} DLP matches; "
        f"{counts['complete']} of {due} due content-type hours complete.",
        _image(by_name["events_by_hour.png"]),
        _image(by_name["sign_ins_by_hour.png"]),
        "**Top users**",
        _table(
            ("user", "events", "failed sign-ins"),
            [(user.user, user.events, user.failed_sign_ins) for user in facts.top_users],
        ),
        "**Top client addresses**",
        _table(
            ("address", "events", "users", "failed sign-ins"),
            [
                (address.address, address.events, address.users, address.failed_sign_ins)
                for address in facts.top_addresses
            ],
        ),
        _image(by_name["dlp_matches_by_hour.png"]),
        _table(
            ("policy", "rule", "severity", "matches"),
            [(rule.policy, rule.rule, rule.severity, rule.matches) for rule in facts.dlp_rules],
        ),
        _image(by_name["ledger_completeness.png"]),
        _table(("status", "content-type hours"), counts.items()),
    ]
    return "\n\n".join(parts) + "\n"


def escape_markdown(value: object) -> str:
    """`value` as literal Markdown text on one line."""
    text = " ".join(str(value).split())
    return "".join(f"\\{char}" if char in _PUNCTUATION else char for char in text)


def literal_markdown(value: object) -> str:
    """`value` as a code span for a GFM table cell (numbers stay plain)."""
    if isinstance(value, int | float):
        return str(value)
    text = " ".join(str(value).split()).replace("|", "\\|")
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _image(chart: Chart) -> str:
    return f"![{escape_markdown(chart.caption)}]({png_data_uri(chart.png)})"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = [
        "| " + " | ".join(escape_markdown(name) for name in header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        lines.append("| " + " | ".join(literal_markdown(value) for value in row) + " |")
    if len(lines) == 2:
        lines.append("| none this day |" + " |" * (len(header) - 1))
    return "\n".join(lines)
