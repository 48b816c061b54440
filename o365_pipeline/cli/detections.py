"""`o365-pipeline detections`: run the detection rules for a UTC day and print the findings.
Argument parsing and printing only; the rules run in `pipeline.detections`.

Exit 0 when nothing was found, 1 when something was (a finding is about the data, as for
`verify`), 2 for a wrong folder, tenant or day, like every other command.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.cli.failures import refuse_empty_data_folder
from o365_pipeline.tenants import InvalidTenantError, validate_customer_name


def add_arguments(commands: argparse._SubParsersAction) -> None:
    """Register `detections` on the top-level parser."""
    detections = commands.add_parser(
        "detections", help="run the detection rules over a UTC day and print the findings"
    )
    detections.add_argument(
        "--tenant", type=_customer_name, help="customer name (default: every tenant)"
    )
    detections.add_argument(
        "--day", type=_day, help="UTC day of the events, YYYY-MM-DD (default: today)"
    )
    detections.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    detections.set_defaults(handler=run_detections)


def run_detections(args: argparse.Namespace) -> int:
    """One line per finding, then one summary line per tenant (the findings files published,
    with an object store configured).
    """
    from o365_pipeline.pipeline.detections import detect_day
    from o365_pipeline.storage.object_store import ObjectStore

    settings = Deployment.from_args(args).settings
    data_dir = settings.resolved_data_dir
    refuse_empty_data_folder(data_dir)
    store = ObjectStore.from_settings(settings.object_store, settings.object_store_options)
    day = args.day or datetime.now(UTC).date()
    tenants = [args.tenant] if args.tenant else landed_tenants(data_dir)
    found = 0
    for tenant in tenants:
        report = detect_day(data_dir, tenant, day, store=store)
        for finding in report.findings:
            print(
                f"{finding.severity:<6} {finding.rule:<31} {tenant} {finding.user or '-'} "
                f"{finding.ip or '-'} {finding.first_seen:%H:%M}: {finding.summary}"
            )
        print(f"{tenant} {day}: {len(report.findings)} finding(s) → {report.path}")
        found += len(report.findings)
    return 1 if found else 0


def landed_tenants(data_dir: Path) -> list[str]:
    """The customer names with landed audit partitions, in name order."""
    folders = (data_dir / "audit").glob("content_type=*/tenant=*")
    return sorted({folder.name.split("=", 1)[1] for folder in folders})


def _customer_name(text: str) -> str:
    try:
        return validate_customer_name(text)
    except InvalidTenantError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: write YYYY-MM-DD") from None
