"""The `o365-pipeline` command: demo, emulator, tenants, onboard, consent-complete,
consent-url, doctor, sql, views, verify, webhook, report, detections.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.cli.failures import one_line_failure, refuse_empty_data_folder

if TYPE_CHECKING:
    from o365_pipeline.storage.damaged_files import DamagedFile


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script: every known failure is one line naming the problem
    and the fix (exit 2), never a traceback.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _show_client_log(verbose=args.verbose)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - classified below, re-raised when unknown
        message = one_line_failure(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


def _show_client_log(*, verbose: bool) -> None:
    """A failure is one line: the client's retry and wait lines (Python `logging`) are shown
    only with `--verbose`; inside Dagster runs they go to the run's log either way.
    """
    logger = logging.getLogger("o365_pipeline")
    for handler in [h for h in logger.handlers if getattr(h, "o365_cli", False)]:
        logger.removeHandler(handler)  # `main` may run more than once in a process (tests)
    handler = logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.o365_cli = True
    logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.INFO)


def _parser() -> argparse.ArgumentParser:
    from o365_pipeline.cli import detections as detections_cli
    from o365_pipeline.cli import onboard as onboard_cli
    from o365_pipeline.cli import report as report_cli
    from o365_pipeline.cli import tenants as tenant_cli
    from o365_pipeline.cli import verify as verify_cli
    from o365_pipeline.cli import webhook as webhook_cli

    parser = argparse.ArgumentParser(
        prog="o365-pipeline", description="Microsoft 365 audit logs → Dagster → Parquet → DuckDB."
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the client's retries and waits (stderr)",
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser("demo", help="emulator → assets → Parquet → a DuckDB summary")
    demo.add_argument("--data-dir", type=Path, default=None, help="default $O365_DATA_DIR or data")
    demo.add_argument("--hours", type=int, default=6, help="complete hours to materialize")
    demo.add_argument(
        "--records-per-hour",
        type=int,
        default=40,
        help="emulated records per tenant, content type and hour",
    )
    demo.set_defaults(handler=_run_demo)

    emulator = commands.add_parser(
        "emulator",
        help="serve the local emulator (the same as `python -m o365_emulator`)",
        add_help=False,
    )
    emulator.add_argument("options", nargs=argparse.REMAINDER)
    emulator.set_defaults(handler=_run_emulator)

    tenant_cli.add_arguments(commands)
    onboard_cli.add_arguments(commands)

    sql = commands.add_parser("sql", help="run SQL over the landed Parquet (DuckDB views)")
    sql.add_argument("query", help='e.g. "SELECT Operation, count(*) FROM audit GROUP BY 1"')
    sql.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    sql.add_argument("--max-rows", type=int, default=40)
    sql.add_argument(
        "--object-store",
        help="query the published copy (s3://bucket/prefix; default $O365_OBJECT_STORE)",
    )
    sql.set_defaults(handler=_run_sql)

    views = commands.add_parser(
        "views", help="write a portable DuckDB file: a snapshot of every view, opens anywhere"
    )
    views.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    views.add_argument("--out", type=Path, help="default <data dir>/o365.duckdb")
    views.set_defaults(handler=_write_views)

    verify_cli.add_arguments(commands)
    detections_cli.add_arguments(commands)
    report_cli.add_arguments(commands)
    webhook_cli.add_arguments(commands)
    return parser


def _run_emulator(args: argparse.Namespace) -> int:
    """Hand over to the emulator's own command, in its own process image."""
    os.execv(sys.executable, [sys.executable, "-m", "o365_emulator", *args.options])
    return 0  # not reached


def _run_demo(args: argparse.Namespace) -> int:
    from o365_pipeline.cli.demo import run_demo

    settings = Deployment.from_args(args).settings
    result = run_demo(settings, hours=args.hours, records_per_hour=args.records_per_hour)
    return 0 if result.matches else 1


def _run_sql(args: argparse.Namespace) -> int:
    import duckdb

    from o365_pipeline.storage.object_store import ObjectStore
    from o365_pipeline.storage.views import connect

    settings = Deployment.from_args(args).settings
    url = args.object_store or settings.object_store
    store = ObjectStore.from_settings(url, settings.object_store_options)
    if store is None:
        refuse_empty_data_folder(settings.resolved_data_dir)
    with connect(settings.resolved_data_dir, store=store, on_damaged=_warn_skipped) as connection:
        try:
            relation = connection.sql(args.query)
        except duckdb.Error as error:
            print(f"SQL error: {error}", file=sys.stderr)
            return 1
        if relation is not None:
            relation.show(max_rows=args.max_rows, max_width=200)
    return 0


def _write_views(args: argparse.Namespace) -> int:
    from o365_pipeline.storage.views import create_database_file

    data_dir = Deployment.from_args(args).settings.resolved_data_dir
    refuse_empty_data_folder(data_dir)
    out = args.out or data_dir / "o365.duckdb"
    written = create_database_file(data_dir, out, on_damaged=_warn_skipped)
    print(written.sentence())
    print("Views and columns: docs/views.md, or SELECT * FROM duckdb_columns() in the file.")
    return 0


def _warn_skipped(damaged: DamagedFile) -> None:
    """A file the views left out, as one line on stderr (the query still runs)."""
    print(damaged.sentence(), file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
