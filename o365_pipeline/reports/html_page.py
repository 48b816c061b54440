"""The daily report as one HTML page.

The page is self-contained: its charts are embedded as base64 `data:` images and its style is
inline, so the one file can be mailed, attached to a ticket or opened from an object store
without the PNG files beside it (they are written too, for tools that want the pictures
alone). Every value from a record (user names, addresses, workloads, DLP policy names) is
HTML-escaped, attributes included: audit records are hostile input. Nothing on the page
depends on when it was made, so the same data gives the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from html import escape

from o365_pipeline.reports.charts import Chart
from o365_pipeline.reports.day_facts import DayFacts, LedgerHour

_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em; color: #222; max-width: 60em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
"""


def render_html(facts: DayFacts, charts: Sequence[Chart]) -> str:
    """The page for `facts`, with `charts` (from `render_charts`) embedded."""
    by_name = {chart.file_name: chart for chart in charts}
    title = f"Microsoft 365 audit report: {facts.tenant}, {facts.day.isoformat()} (UTC)"
    sections = [
        f"<h1>{_text(title)}</h1>",
        _summary(facts),
        "<h2>Events per hour by workload</h2>",
        _image(by_name["events_by_hour.png"]),
        _table(("workload", "events"), facts.events_by_workload.items()),
        "<h2>Sign-ins (Entra ID)</h2>",
        _image(by_name["sign_ins_by_hour.png"]),
        _table(
            ("UserLoggedIn", "UserLoginFailed"),
            [(facts.successful_sign_ins, facts.failed_sign_ins)],
        ),
        "<h2>Top users</h2>",
        _table(
            ("user", "events", "failed sign-ins"),
            [(user.user, user.events, user.failed_sign_ins) for user in facts.top_users],
        ),
        "<h2>Top client addresses</h2>",
        _table(
            ("address", "events", "users", "failed sign-ins"),
            [
                (address.address, address.events, address.users, address.failed_sign_ins)
                for address in facts.top_addresses
            ],
        ),
        "<h2>DLP matches (DLP.All)</h2>",
        _image(by_name["dlp_matches_by_hour.png"]),
        _table(
            ("policy", "rule", "severity", "matches"),
            [(rule.policy, rule.rule, rule.severity, rule.matches) for rule in facts.dlp_rules],
        ),
        "<h2>Ledger completeness</h2>",
        _image(by_name["ledger_completeness.png"]),
        _table(("status", "content-type hours"), facts.ledger_status_counts.items()),
        _troubled_hours(facts.ledger),
        '<p class="note">Activity is counted by CreationTime from the <code>audit</code> view '
        "(each record once); completeness by availability window from the <code>ledger</code> "
        "view. Records Microsoft publishes late land in later windows: make the report again "
        "to include them.</p>",
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def png_data_uri(png: bytes) -> str:
    """A PNG as a `data:` URI (how the page and the Dagster metadata embed charts)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _summary(facts: DayFacts) -> str:
    counts = facts.ledger_status_counts
    due = sum(count for status, count in counts.items() if status != "not_due")
    rows = [
        ("events", facts.events),
        ("successful sign-ins", facts.successful_sign_ins),
        ("failed sign-ins", facts.failed_sign_ins),
        ("DLP matches", facts.dlp_matches),
        ("complete content-type hours", f"{counts['complete']} of {due} due"),
    ]
    return _table(("", "this day"), rows)


def _troubled_hours(ledger: Iterable[LedgerHour]) -> str:
    """The windows that have ended without being complete, consecutive hours of one content
    type and status as one row (e.g. `00:00-10:00 missing`).
    """
    runs: list[list] = []  # [content type, first hour, end hour, status]
    for hour in ledger:
        if hour.status in ("complete", "not_due"):
            continue
        last = runs[-1] if runs else None
        if (
            last
            and last[0] == hour.content_type
            and last[3] == hour.status
            and last[2] == hour.hour
        ):
            last[2] = hour.hour + 1
        else:
            runs.append([hour.content_type, hour.hour, hour.hour + 1, hour.status])
    if not runs:
        return "<p>Every window that has ended is complete.</p>"
    rows = [(kind, f"{first:02d}:00-{end:02d}:00", status) for kind, first, end, status in runs]
    return "<p>Windows that have ended but are not complete:</p>" + _table(
        ("content type", "windows (UTC)", "status"), rows
    )


def _image(chart: Chart) -> str:
    return (
        f'<figure><img src="{png_data_uri(chart.png)}" alt="{_text(chart.caption)}">'
        f"<figcaption>{_text(chart.caption)}</figcaption></figure>"
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["<table>", "<tr>" + "".join(f"<th>{_text(name)}</th>" for name in header) + "</tr>"]
    count = 0
    for row in rows:
        count += 1
        lines.append("<tr>" + "".join(_cell(value) for value in row) + "</tr>")
    if not count:
        lines.append(f'<tr><td colspan="{len(header)}">none this day</td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, int):
        return f'<td class="number">{value}</td>'
    return f"<td>{_text(value)}</td>"


def _text(value: object) -> str:
    return escape(str(value), quote=True)
