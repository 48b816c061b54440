"""The tenant registry: the customers this deployment serves, as one plain JSON file that the
CLI edits and the Dagster code location reads on every use (so adding a tenant needs no code
change and no restart).

Each entry binds a customer name (safe as a folder and a partition key) to an Entra tenant id
and cloud, and optionally to its own app registration. Secrets never enter the file: an entry
names the *environment variable* holding its client secret, or the PEM file and thumbprint of
its certificate; entries without either use the shared app registration
(`O365_CLIENT_ID` / `O365_CLIENT_SECRET`), the usual set-up of a multi-tenant app serving many
customers.

An entry registered by `o365-pipeline onboard` waits for admin consent
(`consent_pending_since`) until an administrator of the tenant grants it: until then the
tenant is not served (no partitions, no schedule), only kept so consent can be asked again.
Entries without the field (`tenants add`, older files) are served.

Writes take an exclusive lock and replace the file atomically, so two `tenants add` at once
both land and a reader never sees half a file. A deployment on several machines keeps the
same entries in PostgreSQL instead (`registry_postgres.py`, chosen when `O365_POSTGRES_URL` is
set): both are a `TenantRegistryBase`, whose rules (one name, one tenant id, consent) are
written once here over the store's `tenants()` and `_locked()`.
"""

from __future__ import annotations

import fcntl
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from o365_pipeline.api.clouds import CLOUDS
from o365_pipeline.errors import PipelineError
from o365_pipeline.storage.atomic import publish, temporary_path_for
from o365_pipeline.tenants import (
    InvalidTenantError,
    Tenant,
    validate_customer_name,
    validate_tenant_id,
)

REGISTRY_FILE_NAME = "tenants.json"


class RegistryError(PipelineError, ValueError):
    """A registry operation that cannot be done as asked (the message says why and how)."""


@dataclass(frozen=True)
class RegisteredTenant:
    """One customer in the registry."""

    name: str
    tenant_id: str
    cloud: str = "commercial"
    added_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    # Own app registration (optional; else the shared one). Never a secret itself.
    client_id: str | None = None
    client_secret_env: str | None = None
    certificate_file: str | None = None
    certificate_thumbprint: str | None = None
    # Admin consent: asked for since (ISO 8601 UTC; None = not waiting), granted at (when
    # `onboard` / `consent-complete` recorded Entra's answer; None for entries added otherwise).
    consent_pending_since: str | None = None
    consent_granted_at: str | None = None

    def __post_init__(self) -> None:
        validate_customer_name(self.name)
        # Stored canonical (lower case, trimmed) so the same GUID typed twice is one tenant.
        object.__setattr__(self, "tenant_id", validate_tenant_id(self.tenant_id))
        if self.cloud not in CLOUDS:
            raise InvalidTenantError(
                f"Unknown cloud {self.cloud!r} for {self.name}: use one of {', '.join(CLOUDS)}."
            )
        if self.client_id is not None:
            validate_tenant_id(self.client_id)  # app ids are GUIDs too
        if bool(self.certificate_file) != bool(self.certificate_thumbprint):
            raise InvalidTenantError(
                f"{self.name}: a certificate needs both its PEM file and its thumbprint."
            )

    @property
    def tenant(self) -> Tenant:
        """The plain `Tenant` the API layer works with."""
        return Tenant(name=self.name, tenant_id=self.tenant_id, cloud=self.cloud)

    @property
    def consent_pending(self) -> bool:
        """Whether the tenant waits for admin consent (and so is not served yet)."""
        return self.consent_pending_since is not None


class TenantRegistryBase(ABC):
    """The registry's rules over a store of entries (a file, or a database table)."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the entries are kept, as a message may show it (never a password)."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether any tenant was ever registered here."""

    @abstractmethod
    def tenants(self) -> tuple[RegisteredTenant, ...]:
        """Every registered tenant, in the order added."""

    @abstractmethod
    def _locked(self) -> AbstractContextManager[list[RegisteredTenant]]:
        """The entries, to change in place: no other writer runs until the block ends, and
        the changed list then replaces the stored one at once (or not at all).
        """

    def get(self, name: str) -> RegisteredTenant:
        """The tenant called `name`."""
        for entry in self.tenants():
            if entry.name == name:
                return entry
        known = ", ".join(entry.name for entry in self.tenants()) or "none yet"
        raise RegistryError(
            f"No tenant called {name!r} in {self.location} (registered: {known}). Add it with "
            "`o365-pipeline tenants add <customer-name> <tenant-id>`."
        )

    def add(self, entry: RegisteredTenant) -> RegisteredTenant:
        """Register a tenant; refuses a name or tenant id already registered."""
        with self._locked() as entries:
            for existing in entries:
                if existing.name == entry.name:
                    raise RegistryError(
                        f"A tenant called {entry.name!r} is already registered "
                        f"({existing.tenant_id}); remove it first or pick another name."
                    )
                if existing.tenant_id == entry.tenant_id:
                    raise RegistryError(
                        f"Tenant {entry.tenant_id} is already registered as {existing.name!r}."
                    )
            entries.append(entry)
        return entry

    def awaiting_consent(self) -> tuple[RegisteredTenant, ...]:
        """The tenants registered by `onboard` whose admin consent is not recorded yet."""
        return tuple(entry for entry in self.tenants() if entry.consent_pending)

    def record_consent(self, name: str, granted_at: datetime | None = None) -> RegisteredTenant:
        """Record that an administrator granted admin consent: the tenant is served from now."""
        stamp = (granted_at or datetime.now(UTC)).isoformat(timespec="seconds")
        with self._locked() as entries:
            for position, existing in enumerate(entries):
                if existing.name == name:
                    entries[position] = replace(
                        existing, consent_pending_since=None, consent_granted_at=stamp
                    )
                    return entries[position]
        raise RegistryError(f"No tenant called {name!r} in {self.location}.")

    def remove(self, name: str) -> RegisteredTenant:
        """Unregister a tenant and return its entry."""
        with self._locked() as entries:
            for position, existing in enumerate(entries):
                if existing.name == name:
                    del entries[position]
                    return existing
        raise RegistryError(f"No tenant called {name!r} in {self.location}.")


class TenantRegistry(TenantRegistryBase):
    """Read and change the registry file at `path` (the single-machine default)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._cached: tuple[tuple[int, int, int], tuple[RegisteredTenant, ...]] | None = None

    @property
    def location(self) -> str:
        """The file's path."""
        return str(self.path)

    def exists(self) -> bool:
        """Whether any tenant was ever registered here."""
        return self.path.exists()

    def tenants(self) -> tuple[RegisteredTenant, ...]:
        """Every registered tenant, in the order added."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return ()
        # Every write replaces the file, so (inode, mtime, size) says whether it changed: the
        # code location asks several times per step without re-parsing.
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cached is not None and self._cached[0] == version:
            return self._cached[1]
        try:
            entries = json.loads(self.path.read_text())["tenants"]
            tenants = tuple(RegisteredTenant(**entry) for entry in entries)
        except (ValueError, KeyError, TypeError) as error:
            raise RegistryError(
                f"The tenant registry {self.path} is not readable ({error}). Fix or remove the "
                "file; `o365-pipeline tenants list` shows what it holds once it parses."
            ) from None
        self._cached = (version, tenants)
        return tenants

    @contextmanager
    def _locked(self) -> Iterator[list[RegisteredTenant]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{self.path.name}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = list(self.tenants())
            yield entries
            temporary = temporary_path_for(self.path)
            payload = {"tenants": [stored_form(entry) for entry in entries]}
            temporary.write_text(json.dumps(payload, indent=2) + "\n")
            publish(temporary, self.path)


def stored_form(entry: RegisteredTenant) -> dict:
    """An entry as both stores keep it: its fields, those unset left out."""
    return _without_nones(asdict(entry))


def _without_nones(entry: dict) -> dict:
    return {key: value for key, value in entry.items() if value is not None}
