"""`o365-pipeline report --tenant T --day D`: write one tenant's daily report and print where
its HTML page is. Argument parsing and printing only; the report is `pipeline.daily_report`'s
(the same use case the `daily_report` asset calls).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.cli.failures import refuse_empty_data_folder


def add_arguments(commands: argparse._SubParsersAction) -> None:
    """Register `report` on the top-level parser."""
    report = commands.add_parser(
        "report", help="write a tenant's daily HTML report with PNG charts and print its path"
    )
    report.add_argument("--tenant", required=True, help="the tenant's customer name")
    report.add_argument("--day", required=True, type=_utc_day, help="the UTC day, e.g. 2026-11-25")
    report.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    report.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Write the report (and publish it, with an object store configured), print the path of
    its page (files the views skipped go to stderr).
    """
    from o365_pipeline.pipeline.daily_report import write_daily_report
    from o365_pipeline.storage.object_store import ObjectStore

    settings = Deployment.from_args(args).settings
    data_dir = settings.resolved_data_dir
    refuse_empty_data_folder(data_dir)
    report = write_daily_report(
        data_dir,
        args.tenant,
        args.day,
        now=datetime.now(UTC),
        on_damaged=lambda damaged: print(damaged.sentence(), file=sys.stderr),
        store=ObjectStore.from_settings(settings.object_store, settings.object_store_options),
    )
    print(report.html_path)
    return 0


def _utc_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a day: write it as YYYY-MM-DD (a UTC day), e.g. 2026-11-25"
        ) from None
