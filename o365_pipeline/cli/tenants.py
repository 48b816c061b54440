"""`o365-pipeline tenants add|list|remove`, `consent-url` and `doctor`: onboarding from the
command line. Argument parsing and printing only; the work is in `registry`, `onboarding` and
the API client.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from o365_pipeline.api.clouds import CLOUDS
from o365_pipeline.api.errors import ManagementApiError
from o365_pipeline.cli.deployment import Deployment
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.tenants import InvalidTenantError
from o365_pipeline.tenants.registry import (
    RegisteredTenant,
    RegistryError,
    TenantRegistryBase,
)

if TYPE_CHECKING:
    from o365_pipeline.config import Settings
    from o365_pipeline.pipeline.onboarding import Finding


def add_arguments(commands: argparse._SubParsersAction) -> None:
    """Register the commands on the top-level parser."""
    tenants = commands.add_parser("tenants", help="register, list and remove customer tenants")
    actions = tenants.add_subparsers(title="actions")

    add = actions.add_parser("add", help="register a customer: name + tenant id (or domain)")
    add_registration_arguments(add)
    add.set_defaults(handler=_add)

    listing = actions.add_parser("list", help="show the registered tenants")
    listing.set_defaults(handler=_list)

    remove = actions.add_parser("remove", help="offboard a tenant")
    remove.add_argument("name")
    remove.add_argument(
        "--keep-subscriptions",
        action="store_true",
        help="do not stop the tenant's Activity API subscriptions",
    )
    remove.add_argument(
        "--delete-data", action="store_true", help="also delete its Parquet, listings, ledger"
    )
    remove.set_defaults(handler=_remove)

    consent = commands.add_parser("consent-url", help="print the admin-consent URL of a tenant")
    consent.add_argument("name")
    consent.add_argument("--redirect-uri", help="where Entra sends the administrator after")
    consent.set_defaults(handler=_consent_url)

    doctor = commands.add_parser("doctor", help="check a tenant is ready, each check with a fix")
    doctor.add_argument("name")
    doctor.set_defaults(handler=_doctor)

    backfill = commands.add_parser(
        "backfill", help="materialize tenants' last N complete hours through Dagster"
    )
    backfill.add_argument("names", nargs="*", metavar="name", help="one or more customers")
    backfill.add_argument("--all", action="store_true", help="every registered customer")
    backfill.add_argument("--hours", type=int, default=24)
    backfill.add_argument(
        "--parallel", type=int, default=1, help="runs at a time, with several customers"
    )
    backfill.set_defaults(handler=_backfill)

    for parser in (add, listing, remove, consent, doctor, backfill):
        parser.add_argument("--data-dir", type=Path, help="default $O365_DATA_DIR or data")
    tenants.set_defaults(handler=lambda args: (tenants.print_help(), 2)[1])


def add_registration_arguments(parser: argparse.ArgumentParser) -> None:
    """What registering a tenant takes (`tenants add` and `onboard`)."""
    parser.add_argument("name", help="customer name: lowercase letters, digits, '-' or '_'")
    parser.add_argument("tenant", help="Entra tenant GUID or a verified domain")
    parser.add_argument("--cloud", default="commercial", choices=sorted(CLOUDS))
    parser.add_argument("--client-id", help="the tenant's own app registration (default: shared)")
    parser.add_argument("--client-secret-env", help="env variable holding that app's secret")
    parser.add_argument("--certificate-file", help="PEM private key of that app's certificate")
    parser.add_argument("--certificate-thumbprint", help="SHA-1 thumbprint of that certificate")


def _registry(args: argparse.Namespace) -> TenantRegistryBase:
    return Deployment.from_args(args).registry


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _add(args: argparse.Namespace) -> int:
    deployment = Deployment.from_args(args)
    try:
        entry = register_tenant(deployment, args)
    except (RegistryError, InvalidTenantError) as error:
        return _fail(str(error))
    sync_partitions(deployment)
    print(
        f"next: o365-pipeline consent-url {entry.name}   then   o365-pipeline doctor {entry.name}"
    )
    return 0


def resolve_tenant(deployment: Deployment, tenant: str, cloud: str) -> str:
    """The tenant GUID of `tenant`, a GUID or a verified domain (looked up in `cloud`)."""
    from o365_pipeline.tenants.lookup import resolve_tenant_id

    tenant_id = tenant.strip()
    if "." in tenant_id:
        base, verify = deployment.login_host(cloud)
        tenant_id = resolve_tenant_id(tenant_id, login_base_url=base, verify=verify)
        print(f"{tenant} is tenant {tenant_id}")
    return tenant_id


def register_tenant(
    deployment: Deployment, args: argparse.Namespace, *, awaiting_consent: bool = False
) -> RegisteredTenant:
    """Register the customer of `args` (`add_registration_arguments`); `awaiting_consent`
    keeps it unserved until its admin consent is recorded (`onboard`).
    """
    registry = deployment.registry
    entry = registry.add(
        RegisteredTenant(
            name=args.name,
            tenant_id=resolve_tenant(deployment, args.tenant, args.cloud),
            cloud=args.cloud,
            client_id=args.client_id,
            client_secret_env=args.client_secret_env,
            certificate_file=args.certificate_file,
            certificate_thumbprint=args.certificate_thumbprint,
            consent_pending_since=(
                datetime.now(UTC).isoformat(timespec="seconds") if awaiting_consent else None
            ),
        )
    )
    waiting = ", consent pending" if entry.consent_pending else ""
    print(
        f"registered {entry.name}: tenant {entry.tenant_id} ({entry.cloud}{waiting}) "
        f"in {registry.location}"
    )
    return entry


def _list(args: argparse.Namespace) -> int:
    try:
        entries = _registry(args).tenants()
    except RegistryError as error:
        return _fail(str(error))
    if not entries:
        print("no tenants registered (the demo tenants are served until one is)")
        return 0
    print(f"{'name':<24} {'tenant id':<38} {'cloud':<11} {'credentials':<16} {'consent':<8} added")
    for entry in entries:
        own = (
            "own secret"
            if entry.client_secret_env
            else "own certificate"
            if entry.certificate_file
            else "shared app"
        )
        consent = "pending" if entry.consent_pending else "granted"
        print(
            f"{entry.name:<24} {entry.tenant_id:<38} {entry.cloud:<11} {own:<16} {consent:<8} "
            f"{entry.added_at}"
        )
    return 0


def _remove(args: argparse.Namespace) -> int:
    deployment = Deployment.from_args(args)
    registry = deployment.registry
    try:
        entry = registry.get(args.name)
        if not args.keep_subscriptions:
            client = deployment.client_for(entry.tenant, entry)
            for kind in CONTENT_TYPES:
                try:
                    client.stop_subscription(kind.name)
                    print(f"stopped {kind.name}")
                except ManagementApiError as error:
                    if error.code != "AF20022":  # never started: nothing to stop
                        raise
        registry.remove(entry.name)
    except (RegistryError, ManagementApiError) as error:
        return _fail(f"{error} (nothing was removed; --keep-subscriptions skips the API)")
    print(f"removed {entry.name} from {registry.location}")
    sync_partitions(deployment)
    data_dir = deployment.settings.resolved_data_dir
    if args.delete_data:
        for area in ("audit", "listings", "ledger"):
            for folder in data_dir.glob(f"{area}/content_type=*/tenant={entry.name}"):
                shutil.rmtree(folder)
        print(f"deleted the data of {entry.name}")
    else:
        print(f"its data stays under {data_dir} (tenant={entry.name}); --delete-data removes it")
    return 0


def _consent_url(args: argparse.Namespace) -> int:
    from o365_pipeline.pipeline.onboarding import admin_consent_url

    deployment = Deployment.from_args(args)
    entry = deployment.registry.get(args.name)
    endpoint = deployment.endpoint()
    base, _ = deployment.login_host(entry.cloud)
    client_id = entry.client_id or endpoint.client_id
    print(admin_consent_url(entry, client_id, login_base_url=base, redirect_uri=args.redirect_uri))
    if deployment.settings.is_local:
        print("(the local emulator: consent is implied by the roles it plays for the tenant)")
        return 0
    print(
        "An administrator of the customer's tenant opens it and accepts the permissions "
        "(ActivityFeed.Read, ActivityFeed.ReadDlp, ServiceHealth.Read)."
    )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    deployment = Deployment.from_args(args)
    findings = report_doctor(deployment, deployment.registry.get(args.name))
    healthy = all(finding.ok for finding in findings)
    print("verdict: ready, audit data can flow" if healthy else "verdict: not ready (see fixes)")
    return 0 if healthy else 1


def report_doctor(deployment: Deployment, entry: RegisteredTenant) -> list[Finding]:
    """Run the doctor's checks for `entry` and print each with its fix."""
    from o365_pipeline.pipeline.onboarding import diagnose

    client = deployment.client_for(entry.tenant, entry)
    print(f"doctor {entry.name} (tenant {entry.tenant_id}, {entry.cloud})")
    findings = diagnose(client, datetime.now(UTC))
    for finding in findings:
        print(f"  [{'ok' if finding.ok else 'FAIL'}] {finding.check}: {finding.detail}")
        if not finding.ok and finding.fix:
            print(f"         fix: {finding.fix}")
    return findings


def _backfill(args: argparse.Namespace) -> int:
    deployment = Deployment.from_args(args)
    settings = deployment.settings
    names = list(args.names)
    if args.all:
        names += [tenant.name for tenant in deployment.tenants.all() if tenant.name not in names]
    if not names:
        return _fail("name one or more customers, or say --all (see `o365-pipeline tenants list`)")
    if len(names) > 1:
        return _backfill_many(settings, names, args)
    from o365_pipeline.cli.backfill import backfill_tenant

    print(f"backfilling {names[0]}: the {args.hours} newest fetchable hours, every content type")
    try:
        result = backfill_tenant(settings, names[0], hours=args.hours)
    except ValueError as error:
        return _fail(str(error))
    print(f"{len(result.succeeded)} window(s) landed, {len(result.failed)} failed")
    return 0 if not result.failed else 1


def _backfill_many(settings: Settings, names: list[str], args: argparse.Namespace) -> int:
    from o365_pipeline.cli.backfill_many import backfill_tenants

    print(
        f"backfilling {len(names)} customers: the {args.hours} newest fetchable hours, every "
        f"content type, {args.parallel} run(s) at a time"
    )
    try:
        outcomes = backfill_tenants(settings, names, hours=args.hours, parallel=args.parallel)
    except ValueError as error:
        return _fail(str(error))
    landed = sum(len(outcome.result.succeeded) for outcome in outcomes if outcome.result)
    failed = sum(len(outcome.result.failed) for outcome in outcomes if outcome.result)
    unstarted = [outcome.name for outcome in outcomes if outcome.result is None]
    print(
        f"{landed} window(s) landed, {failed} failed"
        + (f"; not started: {', '.join(unstarted)}" if unstarted else "")
    )
    return 0 if not failed and not unstarted else 1


def sync_partitions(deployment: Deployment) -> None:
    """Update the Dagster instance's tenant partitions now, when there is an instance."""
    home = deployment.settings.instance_home
    if not (home / "dagster.yaml").exists():
        print("(Dagster's tenant_registry_sync sensor adds the partitions within a minute)")
        return
    import dagster as dg

    from o365_pipeline.defs.partitions import sync_tenant_partitions

    with dg.DagsterInstance.from_config(str(home)) as instance:
        added, removed = sync_tenant_partitions(instance, deployment.tenants.all())
    print(
        f"Dagster partitions updated in {home}: "
        f"added {added or 'none'}, removed {removed or 'none'}"
    )
