"""Atomic file replacement: write beside the target under a hidden name, fsync, rename.

`os.replace` within one directory is atomic on POSIX, so readers see the old file or the new
one, never a partial one; the temporary name does not match `*.parquet`, so DuckDB globs never
pick it up. Temporary files left by a killed process are swept after a grace period.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

TEMP_SUFFIX = ".tmp"
STALE_AFTER_SECONDS = 6 * 3600


def temporary_path_for(target: Path) -> Path:
    """A unique hidden temporary path in the target's directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(target.parent)
    return target.parent / f".{target.name}-{uuid.uuid4().hex}{TEMP_SUFFIX}"


def publish(temporary: Path, target: Path) -> None:
    """Flush `temporary` to disk and atomically rename it onto `target`."""
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def discard(temporary: Path) -> None:
    """Remove a temporary file that will not be published."""
    temporary.unlink(missing_ok=True)


def sweep_stale_temporaries(directory: Path) -> None:
    """Delete temporaries older than the grace period (left behind by killed writers)."""
    cutoff = time.time() - STALE_AFTER_SECONDS
    for candidate in directory.glob(f".*{TEMP_SUFFIX}"):
        try:
            if candidate.stat().st_mtime < cutoff:
                candidate.unlink()
        except FileNotFoundError:
            continue
    for folder in directory.glob(".ids-*"):  # a killed writer's spilled Id keys
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            continue
