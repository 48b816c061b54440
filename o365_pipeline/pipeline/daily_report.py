"""Make one tenant's daily report: read the day's facts from the DuckDB views, draw the charts,
and write `reports/tenant=T/date=D/report.html` with the PNGs beside it.

Each file is replaced atomically (a reader sees the previous report or the new one, never a
half-written file), and making the report again for the same data writes the same bytes, so
re-running it after late records landed is the way to bring it up to date. With an object
store, the page and its charts are published after they are written, under the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from o365_pipeline.errors import PipelineError
from o365_pipeline.pipeline.publishing import publish_files
from o365_pipeline.reports.charts import Chart, render_charts
from o365_pipeline.reports.day_facts import DayFacts, read_day_facts
from o365_pipeline.reports.html_page import render_html
from o365_pipeline.reports.markdown_summary import render_markdown
from o365_pipeline.storage.atomic import publish, temporary_path_for
from o365_pipeline.storage.damaged_files import DamagedFile
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.storage.views import connect, log_damaged
from o365_pipeline.tenants import validate_customer_name

REPORT_FILE_NAME = "report.html"


class ReportDayError(PipelineError, ValueError):
    """A report asked for a day that has not begun yet."""


@dataclass(frozen=True)
class DailyReport:
    """A written report: where its page and charts are, and what they show."""

    facts: DayFacts
    charts: tuple[Chart, ...]
    html_path: Path
    chart_paths: tuple[Path, ...]
    published: tuple[str, ...] | None = None

    def markdown(self) -> str:
        """The report as Markdown with the charts embedded (for the Dagster UI)."""
        return render_markdown(self.facts, self.charts)


def write_daily_report(
    data_root: Path,
    tenant: str,
    day: date,
    *,
    now: datetime,
    on_damaged: Callable[[DamagedFile], None] = log_damaged,
    store: ObjectStore | None = None,
) -> DailyReport:
    """Write `tenant`'s report for the UTC `day` under `data_root` (`now`: which windows are
    due yet; files the views skip as damaged go to `on_damaged`) and publish it to `store`.

    Raises:
        InvalidTenantError: `tenant` is not a customer name.
        ReportDayError: `day` is after today (UTC).
        ObjectStoreError: publishing the page or a chart failed (the local files stay).

    """
    validate_customer_name(tenant)
    today = now.astimezone(UTC).date()
    if day > today:
        raise ReportDayError(
            f"No report for {day.isoformat()}: that UTC day has not begun (today is "
            f"{today.isoformat()}); pass a day up to today, e.g. --day {today.isoformat()}."
        )
    with connect(Path(data_root), on_damaged=on_damaged) as connection:
        facts = read_day_facts(connection, tenant, day, now)
    charts = render_charts(facts)
    directory = DataLayout(Path(data_root)).report_dir(tenant, day)
    chart_paths = tuple(_write(directory / chart.file_name, chart.png) for chart in charts)
    html = render_html(facts, charts).encode("utf-8")
    html_path = _write(directory / REPORT_FILE_NAME, html)
    what = f"the report of {tenant} {day.isoformat()}"
    published = publish_files(store, Path(data_root), [*chart_paths, html_path], what)
    urls = None if published is None else tuple(published)
    return DailyReport(facts, charts, html_path, chart_paths, urls)


def _write(path: Path, content: bytes) -> Path:
    temporary = temporary_path_for(path)
    temporary.write_bytes(content)
    publish(temporary, path)
    return path
