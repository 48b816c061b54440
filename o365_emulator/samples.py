"""Sample tenants the on-demand emulator always plays, one per onboarding outcome, so a new
user can walk through `tenants add` → `doctor` → backfill → `tenants remove` with no
Microsoft tenant at all. Any other registered tenant id is served as a healthy tenant.
"""

from __future__ import annotations

from dataclasses import dataclass

from o365_emulator.identity import ALL_ROLES


@dataclass(frozen=True)
class SampleTenant:
    """A tenant id with the behaviour the emulator plays for it."""

    name: str
    tenant_id: str
    behaviour: str
    roles: tuple[str, ...] = ALL_ROLES
    auditing_on: bool = True


SAMPLE_TENANTS: tuple[SampleTenant, ...] = (
    SampleTenant("contoso", "7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90", "healthy"),
    SampleTenant("fabrikam", "2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11", "healthy"),
    SampleTenant(
        "northwind",
        "4d0c9a7b-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
        "admin consent without ActivityFeed.ReadDlp",
        roles=("ActivityFeed.Read", "ServiceHealth.Read"),
    ),
    SampleTenant(
        "tailspin",
        "9e8d7c6b-5a4f-4e3d-9c2b-1a0f8e7d6c5b",
        "unified audit logging off",
        auditing_on=False,
    ),
)


def sample_arguments() -> list[str]:
    """The emulator command-line options that play the samples."""
    arguments = []
    for sample in SAMPLE_TENANTS:
        arguments += ["--tenant", sample.tenant_id]
        if sample.roles != ALL_ROLES:
            arguments += ["--tenant-roles", f"{sample.tenant_id}={','.join(sample.roles)}"]
        if not sample.auditing_on:
            arguments += ["--auditing-off", sample.tenant_id]
    return arguments


def numbered_tenant_id(number: int) -> str:
    """The id of the emulator's numbered tenant `number` (1, 2, …): `--tenants N` serves the
    first N, healthy, so a benchmark can play a hundred customers without listing their ids.
    """
    if not 1 <= number <= 0xFFFFFFFF:
        raise ValueError(f"tenant number {number} is not between 1 and {0xFFFFFFFF}")
    return f"{number:08x}-0000-4000-8000-{number:012x}"
