"""Third-party real-shaped records, read only when ``O365_CORPUS_DIR`` points at them.

The corpus is not part of this repository and a fresh clone has nothing beside it, so a test
that reads it carries the ``corpus`` marker and is deselected (reported as such, not skipped
silently) unless the variable names a folder. ``.ci/run`` sets it when the corpus is present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS_VARIABLE = "O365_CORPUS_DIR"

corpus = pytest.mark.corpus


def corpus_dir() -> Path | None:
    """The corpus folder named by ``O365_CORPUS_DIR``, or None when it is unset or blank."""
    value = os.environ.get(CORPUS_VARIABLE, "").strip()
    return Path(value) if value else None


def corpus_file(*parts: str) -> Path:
    """A file of the corpus; a test only calls this when it carries the ``corpus`` marker."""
    folder = corpus_dir()
    if folder is None:
        raise RuntimeError(f"{CORPUS_VARIABLE} is not set: this test needs the corpus")
    path = folder.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {CORPUS_VARIABLE} must name the corpus folder")
    return path


def deselect_corpus_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop corpus tests from the run when there is no corpus, and say so in the summary."""
    if corpus_dir() is not None:
        return
    kept = [item for item in items if item.get_closest_marker("corpus") is None]
    dropped = [item for item in items if item.get_closest_marker("corpus") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
