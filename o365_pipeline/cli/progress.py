"""A progress bar for a backfill's one long run: windows landed so far, read from the ledger.

Why the ledger and not Dagster's events: the run executes in this process
(`execute_in_process` reports its events only when it ends), while every window × content type
writes its ledger row the moment it lands or fails. So a watcher thread counts the ledger rows
written since the run began, and says so on the terminal (redrawn in place) or, when the output
is not a terminal, in a line at each tenth.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from o365_pipeline.storage.layout import DataLayout

POLL_SECONDS = 0.5
BAR_WIDTH = 30


class LedgerProgress:
    """`with LedgerProgress(layout, tenant, types, windows):` shows the run's progress."""

    def __init__(
        self,
        layout: DataLayout,
        tenant: str,
        content_types: Sequence[str],
        windows: Sequence[datetime],
        *,
        stream: TextIO | None = None,
    ) -> None:
        self._files = [
            layout.ledger_file(kind, tenant, window) for kind in content_types for window in windows
        ]
        self._stream = stream or sys.stderr
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="progress", daemon=True)
        self._began: dict[Path, float | None] = {}
        self._last_tenth = -1

    def __enter__(self) -> LedgerProgress:
        self._began = {path: _mtime(path) for path in self._files}
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10 * POLL_SECONDS)
        self.show(final=True)

    def done(self) -> int:
        """Ledger rows written (or rewritten) since the run began."""
        return sum(
            1
            for path, before in self._began.items()
            if (now := _mtime(path)) is not None and (before is None or now > before)
        )

    def show(self, *, final: bool = False) -> None:
        """Draw the bar (on a terminal) or a line at each new tenth (otherwise)."""
        total = len(self._files)
        done = self.done()
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        text = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} window × type"
        if self._stream.isatty():
            self._stream.write("\r  " + text + ("\n" if final else ""))
        else:
            tenth = 10 * done // total if total else 10
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            self._stream.write("  " + text + "\n")
        self._stream.flush()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.show()


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
