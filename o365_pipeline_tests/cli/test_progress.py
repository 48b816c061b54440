"""The backfill's progress bar counts the ledger rows its run writes, and only those."""

import io
from datetime import UTC, datetime

from o365_pipeline.cli.progress import LedgerProgress
from o365_pipeline.storage.layout import DataLayout

WINDOWS = [datetime(2026, 12, 1, hour, tzinfo=UTC) for hour in range(5)]
TYPES = ["Audit.Exchange", "DLP.All"]


def _write(layout: DataLayout, kind: str, window: datetime) -> None:
    path = layout.ledger_file(kind, "contoso", window)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("row")


def test_rows_written_during_the_run_are_counted_and_old_ones_are_not(tmp_path):
    layout = DataLayout(tmp_path)
    _write(layout, "DLP.All", WINDOWS[0])  # landed by an earlier run: not this run's progress
    stream = io.StringIO()
    progress = LedgerProgress(layout, "contoso", TYPES, WINDOWS, stream=stream)
    with progress:
        for window in WINDOWS[:3]:
            _write(layout, "Audit.Exchange", window)
        assert progress.done() == 3
    lines = stream.getvalue().splitlines()
    assert lines[-1].endswith("3/10 window × type")
    assert all("/10 window × type" in line for line in lines)
    assert len(lines) == len(set(lines))  # not a terminal: one line per new tenth, no repeats


def test_a_rewritten_row_counts_once(tmp_path):
    layout = DataLayout(tmp_path)
    progress = LedgerProgress(layout, "contoso", TYPES, WINDOWS[:1], stream=io.StringIO())
    with progress:
        _write(layout, "Audit.Exchange", WINDOWS[0])
        _write(layout, "Audit.Exchange", WINDOWS[0])
        assert progress.done() == 1
