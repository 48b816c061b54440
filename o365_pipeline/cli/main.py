"""The `o365-pipeline` command: demo, emulator, tenants, consent-url, doctor, sql, views."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    from o365_emulator import command as emulator_command
    from o365_pipeline.cli import tenants as tenant_cli

    parser = argparse.ArgumentParser(
        prog="o365-pipeline", description="Microsoft 365 audit logs → Dagster → Parquet → DuckDB."
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser("demo", help="emulator → assets → Parquet → a DuckDB summary")
    demo.add_argument("--data-dir", type=Path, default=Path("data"))
    demo.add_argument("--hours", type=int, default=6, help="complete hours to materialize")
    demo.add_argument(
        "--records-per-hour",
        type=int,
        default=40,
        help="emulated records per tenant, content type and hour",
    )
    demo.set_defaults(handler=_run_demo)

    emulator = commands.add_parser("emulator", help="serve the local Management API emulator")
    emulator_command.add_arguments(emulator)
    emulator.set_defaults(handler=emulator_command.run)

    tenant_cli.add_arguments(commands)

    sql = commands.add_parser("sql", help="run SQL over the landed Parquet (DuckDB views)")
    sql.add_argument("query", help='e.g. "SELECT Operation, count(*) FROM audit GROUP BY 1"')
    sql.add_argument("--data-dir", type=Path, default=Path("data"))
    sql.add_argument("--max-rows", type=int, default=40)
    sql.add_argument(
        "--object-store",
        default=os.environ.get("O365_OBJECT_STORE") or None,
        help="query the published copy (s3://bucket/prefix; default $O365_OBJECT_STORE)",
    )
    sql.set_defaults(handler=_run_sql)

    views = commands.add_parser("views", help="write a DuckDB file with views over the Parquet")
    views.add_argument("--data-dir", type=Path, default=Path("data"))
    views.add_argument("--out", type=Path, default=Path("data/o365.duckdb"))
    views.set_defaults(handler=_write_views)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    from o365_pipeline.cli.demo import run_demo

    result = run_demo(args.data_dir, hours=args.hours, records_per_hour=args.records_per_hour)
    return 0 if result.matches else 1


def _run_sql(args: argparse.Namespace) -> int:
    import duckdb

    from o365_pipeline.storage.object_store import ObjectStore, ObjectStoreError
    from o365_pipeline.storage.views import connect

    try:
        store = ObjectStore.from_settings(
            args.object_store, os.environ.get("O365_OBJECT_STORE_OPTIONS")
        )
    except ObjectStoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with connect(args.data_dir, store=store) as connection:
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

    create_database_file(args.data_dir, args.out)
    print(
        f"Wrote {args.out}: open it with DuckDB (duckdb.connect('{args.out}')); "
        "query the `audit` view."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
