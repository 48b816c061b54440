"""Which tenants a code location serves, asked at the moment of use.

`StaticTenants` is a fixed tuple (tests, one-off tools). `RegistryTenants` reads the tenant
registry file on every call, so a tenant added with `o365-pipeline tenants add` is served by
the running code location at once; until the registry exists, it serves the tenant configured
in the environment (or the demo tenants), so a fresh checkout still works with no set-up.
"""

from __future__ import annotations

from collections.abc import Sequence

from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.registry import RegisteredTenant, RegistryError, TenantRegistry


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
    """The registry's tenants, re-read on each call; `fallback` until the registry exists."""

    def __init__(self, registry: TenantRegistry, fallback: Sequence[Tenant] = ()) -> None:
        self.registry = registry
        self._fallback = tuple(fallback)

    def all(self) -> tuple[Tenant, ...]:
        """Registered tenants (or the fallback before the first registration)."""
        if not self.registry.exists():
            return self._fallback
        return tuple(entry.tenant for entry in self.registry.tenants())

    def entry(self, name: str) -> RegisteredTenant | None:
        """The registry entry of `name`, if registered."""
        if not self.registry.exists():
            return None
        return next((entry for entry in self.registry.tenants() if entry.name == name), None)


def as_directory(tenants: TenantDirectory | Sequence[Tenant]) -> TenantDirectory:
    """Accept a directory or a plain sequence of tenants."""
    return tenants if isinstance(tenants, TenantDirectory) else StaticTenants(tenants)
