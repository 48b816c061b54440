"""`o365-pipeline verify`: check the landed files against the ledger and print what differs.
Argument parsing and printing only; the checks are in `pipeline.verification`.

Exit 0 when nothing differs, 1 when something does (a finding is about the data, not the
command), 2 for a wrong folder or tenant, like every other command.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.cli.failures import refuse_empty_data_folder
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.tenants import InvalidTenantError, validate_customer_name, validate_tenant_id

if TYPE_CHECKING:
    from o365_pipeline.pipeline.verification import VerificationReport


def add_arguments(commands: argparse._SubParsersAction) -> None:
    """Register `verify` on the top-level parser."""
    verify = commands.add_parser(
        "verify", help="check every landed file against the ledger's checksums and row counts"
    )
    verify.add_argument("--tenant", help="only this tenant: customer name or tenant id")
    verify.add_argument(
        "--since",
        type=_aware_datetime,
        help="only windows starting at or after this hour (ISO 8601; UTC unless it says)",
    )
    verify.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Print one line per finding, then a summary line."""
    from o365_pipeline.pipeline.verification import verify_data

    deployment = Deployment.from_args(args)
    data_dir = deployment.settings.resolved_data_dir
    refuse_empty_data_folder(data_dir)
    tenant = _customer_name(deployment, args.tenant) if args.tenant else None
    report = verify_data(DataLayout(data_dir), tenant=tenant, since=args.since)
    for finding in report.findings:
        print(finding.line())
    print(summary_line(report, data_dir))
    return 0 if report.clean else 1


def summary_line(report: VerificationReport, data_dir: Path) -> str:
    """E.g. `verify: 12 windows, 48 files checked under data: 1 finding; …`."""
    checked = (
        f"verify: {report.windows_checked} windows, {report.files_checked} files checked "
        f"under {data_dir}"
    )
    if report.clean:
        return f"{checked}: no findings"
    count = len(report.findings)
    return (
        f"{checked}: {count} finding{'s' if count != 1 else ''}; re-materialize the named "
        "partitions while the API still holds their blobs (7 days), or restore the files "
        "from the object store"
    )


def _customer_name(deployment: Deployment, name_or_id: str) -> str:
    """The folder name of a tenant given by customer name or by tenant id.

    Raises:
        InvalidTenantError: neither a customer name nor the id of a served tenant.

    """
    try:
        tenant_id = validate_tenant_id(name_or_id)
    except InvalidTenantError:
        return validate_customer_name(name_or_id)
    for tenant in deployment.tenants.all():
        if tenant.tenant_id == tenant_id:
            return tenant.name
    raise InvalidTenantError(
        f"No served tenant has id {tenant_id}: pass its customer name instead "
        "(`o365-pipeline tenants list` shows the names and ids)."
    )


def _aware_datetime(text: str) -> datetime:
    """An ISO 8601 date or time; one without a zone is UTC (the partitions are UTC hours)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time, e.g. 2026-11-25T09:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
