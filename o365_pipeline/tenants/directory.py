"""Which tenants a code location serves, asked at the moment of use.

`StaticTenants` is a fixed tuple (tests, one-off tools). `RegistryTenants` reads the tenant
registry file on every call, so a tenant added with `o365-pipeline tenants add` is served by
the running code location at once; until the registry exists, it serves the tenant configured
in the environment (or the demo tenants), so a fresh checkout still works with no set-up. A
registered tenant still waiting for admin consent (`o365-pipeline onboard`) is not served: it
gets no partitions and no scheduled runs until its consent is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from o365_pipeline.config import Settings
from o365_pipeline.storage.postgres import DatabaseUrl
from o365_pipeline.tenants.model import DEMO_TENANTS, Tenant
from o365_pipeline.tenants.registry import (
    RegisteredTenant,
    RegistryError,
    TenantRegistry,
    TenantRegistryBase,
)


class TenantDirectory:
    """The tenants served, by name."""

    def all(self) -> tuple[Tenant, ...]:
        """Every tenant served now."""
        raise NotImplementedError

    def entry(self, name: str) -> RegisteredTenant | None:
        """The registry entry of `name` (its own credentials, if any), when registered."""
        return None

    def get(self, name: str) -> Tenant:
        """The tenant called `name`."""
        for tenant in self.all():
            if tenant.name == name:
                return tenant
        known = ", ".join(tenant.name for tenant in self.all()) or "none"
        raise RegistryError(
            f"Tenant {name!r} is not served (served: {known}). Register it with "
            "`o365-pipeline tenants add <customer-name> <tenant-id>`."
        )


class StaticTenants(TenantDirectory):
    """A fixed set of tenants."""

    def __init__(self, tenants: Sequence[Tenant]) -> None:
        self._tenants = tuple(tenants)

    def all(self) -> tuple[Tenant, ...]:
        """The fixed tenants."""
        return self._tenants


class RegistryTenants(TenantDirectory):
    """The registry's tenants, re-read on each call; `fallback` until the registry exists, and
    `always` in any case (the local emulator's demo tenants: registering another tenant must
    not drop them from the UI while their data stays queryable).
    """

    def __init__(
        self,
        registry: TenantRegistryBase,
        fallback: Sequence[Tenant] = (),
        always: Sequence[Tenant] = (),
    ) -> None:
        self.registry = registry
        self._fallback = tuple(fallback)
        self._always = tuple(always)

    def all(self) -> tuple[Tenant, ...]:
        """Registered tenants whose consent is not pending (or the fallback before the first
        registration), then `always` minus any whose name or tenant id a registered tenant
        already uses (pending ones included: their demo namesake must not be served instead).
        """
        if not self.registry.exists():
            served, registered = self._fallback, self._fallback
        else:
            registered = tuple(entry.tenant for entry in self.registry.tenants())
            served = tuple(
                entry.tenant for entry in self.registry.tenants() if not entry.consent_pending
            )
        names = {tenant.name for tenant in registered}
        ids = {tenant.tenant_id for tenant in registered}
        extra = tuple(
            tenant
            for tenant in self._always
            if tenant.name not in names and tenant.tenant_id not in ids
        )
        return served + extra

    def get(self, name: str) -> Tenant:
        """The served tenant called `name`; a registered one still waiting for admin consent
        is refused with what to do.
        """
        entry = self.entry(name)
        if entry is not None and entry.consent_pending:
            raise RegistryError(
                f"Tenant {name!r} waits for admin consent (asked {entry.consent_pending_since}) "
                f"and is not served yet: have an administrator of {entry.tenant_id} accept "
                f"with `o365-pipeline onboard {name} {entry.tenant_id}`."
            )
        return super().get(name)

    def entry(self, name: str) -> RegisteredTenant | None:
        """The registry entry of `name`, if registered."""
        if not self.registry.exists():
            return None
        return next((entry for entry in self.registry.tenants() if entry.name == name), None)


def as_directory(tenants: TenantDirectory | Sequence[Tenant]) -> TenantDirectory:
    """Accept a directory or a plain sequence of tenants."""
    return tenants if isinstance(tenants, TenantDirectory) else StaticTenants(tenants)


def directory_for(settings: Settings) -> RegistryTenants:
    """The tenants a deployment serves: its registry; before the first registration, the one
    tenant of `O365_TENANT_ID`; in a local deployment, the demo tenants as well.
    """
    single = (
        (Tenant(name=settings.tenant_name, tenant_id=settings.tenant_id, cloud=settings.cloud),)
        if settings.tenant_id
        else ()
    )
    return RegistryTenants(
        open_registry(settings.registry_file, database_url_of(settings)),
        fallback=single,
        always=DEMO_TENANTS if settings.is_local else (),
    )


def database_url_of(settings: Settings) -> DatabaseUrl | None:
    """The deployment's shared database (`O365_POSTGRES_URL`, `O365_POSTGRES_PASSWORD`)."""
    if settings.postgres_url is None:
        return None
    password = settings.postgres_password
    return DatabaseUrl(settings.postgres_url, password.get_secret_value() if password else None)


def open_registry(
    registry_file: Path | str | None, database: DatabaseUrl | None
) -> TenantRegistryBase:
    """The registry of a deployment: the database's when it has one (several machines), else
    the file (one machine).
    """
    if database is not None:
        from o365_pipeline.tenants.registry_postgres import PostgresTenantRegistry

        return PostgresTenantRegistry(database)
    return TenantRegistry(registry_file)
