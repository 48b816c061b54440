"""Which tenants the pipeline serves: a customer name (safe as a path and a partition key)
bound to an Entra tenant id and a cloud.

The demo tenants are served by the local emulator; real tenants come from the registry (or
one from the settings, `O365_TENANT_ID`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from o365_pipeline.errors import PipelineError

CUSTOMER_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class InvalidTenantError(PipelineError, ValueError):
    """A tenant name or id that cannot be used (it would break paths, keys or API URLs)."""


@dataclass(frozen=True)
class Tenant:
    """One customer organization.

    Attributes:
        name: customer name; lowercase letters, digits, `-` and `_` only, because it becomes a
            directory name and a Dagster partition key.
        tenant_id: the Entra tenant GUID, lowercase.
        cloud: the Microsoft cloud the tenant lives in (see `o365_pipeline.api.clouds`).

    """

    name: str
    tenant_id: str
    cloud: str = "commercial"

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", validate_customer_name(self.name))
        object.__setattr__(self, "tenant_id", validate_tenant_id(self.tenant_id))


def validate_customer_name(name: str) -> str:
    """Return `name` if it is safe as a path component and partition key, else raise."""
    if not CUSTOMER_NAME_PATTERN.fullmatch(name or ""):
        raise InvalidTenantError(
            f"Invalid customer name {name!r}: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit (it becomes a folder name and a partition key)."
        )
    return name


def validate_tenant_id(tenant_id: str) -> str:
    """Return the canonical lowercase GUID, else raise with the fix.

    The Activity API puts the tenant GUID in every URL and answers AF20013 for anything else.
    """
    try:
        parsed = uuid.UUID(str(tenant_id).strip())
    except ValueError:
        raise InvalidTenantError(
            f"Invalid tenant id {tenant_id!r}: expected the Entra tenant GUID "
            "(Entra admin center > Overview > Tenant ID), "
            "e.g. 7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90."
        ) from None
    if str(tenant_id).strip().lower() != str(parsed):
        raise InvalidTenantError(
            f"Invalid tenant id {tenant_id!r}: write the GUID in its plain "
            f"8-4-4-4-12 form, e.g. {parsed}."
        )
    return str(parsed)


DEMO_TENANTS: tuple[Tenant, ...] = (
    Tenant(name="contoso", tenant_id="7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90"),
    Tenant(name="fabrikam", tenant_id="2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11"),
)
