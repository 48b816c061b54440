"""`o365-pipeline backfill --all --hours N --parallel P` (or several names): a service
provider's backfill of many customers from one command.

Each customer is still one ranged Dagster run over its own windows (the same run, checks,
ledger rows and atomic files as `backfill <customer>`), so the Dagster UI shows every run and a
failed window fails only its own partition. What changes is where the fixed costs go: `P`
worker processes each load the definitions and the Dagster instance once and then take
customers one after the other, so a hundred customers pay that load `P` times, not a hundred,
and `P` runs use `P` cores (one run's conversion and Dagster bookkeeping hold one core's worth
of Python). Every customer covers the same windows, computed once when the command starts.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime

from o365_pipeline.cli.backfill import BackfillResult, BackfillSession
from o365_pipeline.config import Settings
from o365_pipeline.errors import PipelineError
from o365_pipeline.pipeline.settled_windows import fetchable_window_starts
from o365_pipeline.tenants.directory import directory_for

_session: BackfillSession | None = None


@dataclass(frozen=True)
class TenantBackfill:
    """One customer's outcome (or the one-line reason it could not start) and its wall time."""

    name: str
    result: BackfillResult | None
    error: str | None
    seconds: float


def backfill_tenants(
    settings: Settings,
    names: Sequence[str],
    *,
    hours: int,
    parallel: int,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> list[TenantBackfill]:
    """Backfill every named tenant's `hours` newest windows, `parallel` runs at a time,
    saying one line per tenant as it finishes; returns the outcomes in the order given.

    Raises:
        ValueError: `hours` asks for windows the API no longer lists, or `parallel` < 1
            (both before any run starts).
        RegistryError: a name is not a registered tenant (before any run starts).

    """
    if parallel < 1:
        raise ValueError(f"--parallel must be at least 1, not {parallel}")
    windows = fetchable_window_starts(now or datetime.now(UTC), hours)
    directory = directory_for(settings)
    for name in names:
        directory.get(name)
    outcomes: dict[str, TenantBackfill] = {}

    def finished(outcome: TenantBackfill) -> None:
        outcomes[outcome.name] = outcome
        say(f"[{len(outcomes)}/{len(names)}] {_summary(outcome)}")

    if parallel == 1 or len(names) == 1:
        with BackfillSession(settings, say=_silent, show_progress=False) as session:
            for name in names:
                finished(_backfill_one(session, name, windows))
    else:
        _in_workers(settings, names, windows, min(parallel, len(names)), finished)
    return [outcomes[name] for name in names]


def _in_workers(
    settings: Settings,
    names: Sequence[str],
    windows: Sequence[datetime],
    workers: int,
    finished: Callable[[TenantBackfill], None],
) -> None:
    # `spawn`: a fresh interpreter per worker, not a fork of this one's threads and sockets.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_open_session, initargs=(settings,)
    ) as pool:
        futures = {pool.submit(_backfill_in_worker, name, list(windows)): name for name in names}
        for future in as_completed(futures):
            try:
                finished(future.result())
            except BrokenProcessPool:
                name = futures[future]
                finished(
                    TenantBackfill(name, None, "a backfill worker process died (out of memory?)", 0)
                )


def _open_session(settings: Settings) -> None:
    """A worker's one session, for every tenant it is given (closed when the worker exits)."""
    global _session
    _session = BackfillSession(settings, say=_silent, show_progress=False).__enter__()


def _backfill_in_worker(name: str, windows: list[datetime]) -> TenantBackfill:
    assert _session is not None, "the worker's initializer opens the session"
    return _backfill_one(_session, name, windows)


def _backfill_one(
    session: BackfillSession, name: str, windows: Sequence[datetime]
) -> TenantBackfill:
    began = time.monotonic()
    try:
        result = session.backfill(name, windows)
    except PipelineError as error:  # e.g. a tenant whose consent was revoked: the others go on
        return TenantBackfill(name, None, str(error), time.monotonic() - began)
    return TenantBackfill(name, result, None, time.monotonic() - began)


def _summary(outcome: TenantBackfill) -> str:
    if outcome.result is None:
        return f"{outcome.name}: not started: {outcome.error}"
    result = outcome.result
    line = (
        f"{outcome.name}: {len(result.succeeded)} window(s) landed, "
        f"{len(result.failed)} failed ({outcome.seconds:.1f} s)"
    )
    for window, reason in result.failed:
        line += f"\n    {window:%Y-%m-%d %H:00} UTC  FAILED: {reason[:300]}"
    return line


def _silent(_: str) -> None:
    """Per-window lines are left out: one line per tenant says it all."""
