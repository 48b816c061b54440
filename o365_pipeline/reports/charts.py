"""The report's PNG charts, drawn with matplotlib's Agg renderer.

Why matplotlib: it installs from PyPI as wheels with everything it needs (the Agg rasterizer
and the DejaVu fonts are inside the wheel), draws without a display or a browser, and writes
PNG bytes in-process. Plotly and Bokeh draw in a browser (static PNGs need Kaleido or Selenium
and a Chromium); Vega-Altair's PNG export needs vl-convert, a bundled JavaScript engine;
pygal writes SVG and needs CairoSVG and the system's cairo for PNG.

Why the same bytes for the same data: figures are built with `Figure` (no pyplot, no global
figure manager), under one fixed style (the bundled DejaVu Sans, fixed sizes and colours), and
saved without the "Software" text chunk, so nothing in a PNG depends on the machine's fonts,
the time, or the matplotlib version string. Text from records (workload names) is drawn
literally: mathtext is off, so `$…$` in a hostile value is not parsed.

Why matplotlib is imported inside the functions: this module is reached when the code location
loads (the report asset), and importing matplotlib costs about 0.4 CPU-s that every run process
and every `dagster` command would pay, though only a report run draws.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.reports.day_facts import HOURS, LEDGER_STATUSES, DayFacts, HourCount

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 2.8, 100
MOST_WORKLOADS = 8  # the rest are drawn as one "other" series
LABEL_CHARACTERS = 40
OTHER = "other workloads"
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "text.parse_math": False,
    "svg.hashsalt": "o365-pipeline",
    "path.simplify": True,
}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
OTHER_COLOUR = "#7f7f7f"
SUCCEEDED_COLOUR, FAILED_COLOUR = "#2e7d32", "#c62828"
STATUS_COLOURS = {
    "complete": "#2e7d32",
    "complete_with_loss": "#f9a825",
    "incomplete": "#c62828",
    "missing": "#6d4c41",
    "not_due": "#e0e0e0",
}
# rcParams are process-wide; charts are drawn one at a time under the fixed style.
_style_lock = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """One rendered chart: its file name beside the report, its caption, and its PNG bytes."""

    file_name: str
    caption: str
    png: bytes


def render_charts(facts: DayFacts) -> tuple[Chart, ...]:
    """The report's four charts, in the order the page shows them."""
    import matplotlib

    with _style_lock, matplotlib.rc_context(STYLE):
        return (
            Chart(
                "events_by_hour.png",
                "Events per hour (UTC, by CreationTime), by workload",
                _stacked_hours(facts.events_by_hour, "events"),
            ),
            Chart(
                "sign_ins_by_hour.png",
                "Entra sign-ins per hour: UserLoggedIn vs UserLoginFailed",
                _sign_ins(facts),
            ),
            Chart(
                "dlp_matches_by_hour.png",
                "DLP rule matches per hour (DLP.All), by workload",
                _stacked_hours(facts.dlp_by_hour, "matches"),
            ),
            Chart(
                "ledger_completeness.png",
                "Ledger completeness per availability window and content type",
                _ledger(facts),
            ),
        )


def chart_label(text: str) -> str:
    """A record's value as a legend label: one line, at most 40 characters, and never starting
    with "_" (matplotlib leaves such labels out of legends).
    """
    line = " ".join(str(text).split()) or "(blank)"
    if len(line) > LABEL_CHARACTERS:
        line = line[: LABEL_CHARACTERS - 1] + "…"
    return f" {line}" if line.startswith("_") else line


def _stacked_hours(counts: Sequence[HourCount], unit: str) -> bytes:
    figure, axes = _figure()
    series = _series_by_label(counts)
    bottoms = [0] * len(HOURS)
    for label, values, colour in series:
        axes.bar(HOURS, values, bottom=bottoms, color=colour, label=chart_label(label), width=0.8)
        bottoms = [bottom + value for bottom, value in zip(bottoms, values, strict=True)]
    _hour_axis(axes, unit)
    if series:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        _empty_note(axes, f"no {unit} this day")
    return _png(figure)


def _series_by_label(counts: Sequence[HourCount]) -> list[tuple[str, list[int], str]]:
    """(label, its 24 hourly values, colour): the busiest `MOST_WORKLOADS` labels (ties by
    name), then the rest summed as one grey series.
    """
    totals: dict[str, int] = {}
    for count in counts:
        totals[count.label] = totals.get(count.label, 0) + count.count
    kept = sorted(totals, key=lambda label: (-totals[label], label))[:MOST_WORKLOADS]
    values = {label: [0] * len(HOURS) for label in kept}
    rest = [0] * len(HOURS)
    for count in counts:
        (values[count.label] if count.label in values else rest)[count.hour] += count.count
    series = [(label, values[label], PALETTE[index]) for index, label in enumerate(kept)]
    return series + ([(OTHER, rest, OTHER_COLOUR)] if any(rest) else [])


def _sign_ins(facts: DayFacts) -> bytes:
    figure, axes = _figure()
    succeeded = [hour.succeeded for hour in facts.sign_ins]
    failed = [hour.failed for hour in facts.sign_ins]
    axes.bar(HOURS, succeeded, color=SUCCEEDED_COLOUR, label="UserLoggedIn", width=0.8)
    axes.bar(HOURS, failed, bottom=succeeded, color=FAILED_COLOUR, label="UserLoginFailed")
    _hour_axis(axes, "sign-ins")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if not any(succeeded) and not any(failed):
        _empty_note(axes, "no sign-ins this day")
    return _png(figure)


def _ledger(facts: DayFacts) -> bytes:
    names = [content_type.name for content_type in CONTENT_TYPES]
    status_index = {status: index for index, status in enumerate(LEDGER_STATUSES)}
    grid = [[0] * len(HOURS) for _ in names]
    for hour in facts.ledger:
        grid[names.index(hour.content_type)][hour.hour] = status_index[hour.status]
    figure, axes = _figure()
    from matplotlib.colors import ListedColormap

    colours = ListedColormap([STATUS_COLOURS[status] for status in LEDGER_STATUSES])
    axes.imshow(
        grid,
        cmap=colours,
        vmin=-0.5,
        vmax=len(LEDGER_STATUSES) - 0.5,
        aspect="auto",
        interpolation="nearest",
    )
    axes.set_yticks(range(len(names)), names)
    axes.set_xticks(list(HOURS), [f"{hour:02d}" for hour in HOURS])
    axes.set_xlabel("availability window (UTC hour)")
    axes.set_xticks([hour - 0.5 for hour in HOURS], minor=True)
    axes.set_yticks([row - 0.5 for row in range(len(names))], minor=True)
    axes.grid(which="minor", color="white", linewidth=1.5)
    axes.tick_params(which="both", length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    from matplotlib.patches import Patch

    handles = [Patch(color=STATUS_COLOURS[status], label=status) for status in LEDGER_STATUSES]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(figure)


def _figure() -> tuple[Figure, object]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _hour_axis(axes, unit: str) -> None:
    axes.set_xticks(list(HOURS), [f"{hour:02d}" for hour in HOURS])
    axes.set_xlim(-0.6, len(HOURS) - 0.4)
    axes.set_xlabel("hour (UTC)")
    axes.set_ylabel(unit)
    axes.yaxis.get_major_locator().set_params(integer=True)


def _empty_note(axes, text: str) -> None:
    axes.text(0.5, 0.5, text, transform=axes.transAxes, ha="center", va="center", color="#555")
    axes.set_ylim(0, 1)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
