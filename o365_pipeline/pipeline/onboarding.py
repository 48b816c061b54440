"""Onboarding a customer: the admin-consent URL for its cloud, and the doctor that checks, in
order, everything that must hold before audit data can flow, each with its fix.

Plain Python over `ManagementApiClient`; the CLI prints the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.clouds import CLOUDS
from o365_pipeline.api.errors import ManagementApiError
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.pipeline.service_health import check_service_health_access
from o365_pipeline.tenants.registry import RegisteredTenant

REQUIRED_ROLES = ("ActivityFeed.Read", "ActivityFeed.ReadDlp", "ServiceHealth.Read")
_ROLE_PURPOSE = {
    "ActivityFeed.Read": "read activity data (every content type)",
    "ActivityFeed.ReadDlp": "read DLP policy events including sensitive data (DLP.All)",
    "ServiceHealth.Read": "read service health",
}


def admin_consent_url(
    entry: RegisteredTenant,
    client_id: str,
    *,
    login_base_url: str | None = None,
    redirect_uri: str | None = None,
) -> str:
    """The URL an administrator of the customer's tenant opens to grant the app's permissions
    (the admin-consent endpoint of the tenant's own cloud).
    """
    base = (login_base_url or CLOUDS[entry.cloud].login_base_url).rstrip("/")
    query = {"client_id": client_id}
    if redirect_uri:
        query["redirect_uri"] = redirect_uri
    return f"{base}/{entry.tenant_id}/adminconsent?{urlencode(query)}"


@dataclass(frozen=True)
class Finding:
    """One doctor check: what was checked, whether it holds, what was seen, and the fix."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def diagnose(client: ManagementApiClient, now: datetime) -> list[Finding]:
    """Run the checks in order; later checks are skipped once one blocks them."""
    findings: list[Finding] = []
    try:
        roles = client.granted_roles()
    except ManagementApiError as error:
        return [Finding("token", False, error.explanation, error.fix)]
    findings.append(Finding("token", True, "a token was issued for the app in this tenant"))

    missing = [role for role in REQUIRED_ROLES if role not in roles]
    findings.append(
        Finding(
            "permissions",
            not missing,
            f"granted: {', '.join(roles) or 'none'}"
            + (f"; missing: {', '.join(missing)}" if missing else ""),
            "Add the application permission(s) "
            + ", ".join(f"{role} ({_ROLE_PURPOSE[role]})" for role in missing)
            + " of Office 365 Management APIs, then have an administrator grant admin consent "
            "again (o365-pipeline consent-url)."
            if missing
            else "",
        )
    )
    health = check_service_health_access(client.settings)
    findings.append(Finding("service health (Graph)", health.ok, health.detail, health.fix))
    if "ActivityFeed.Read" in missing:
        return findings

    try:
        enabled = {sub.content_type for sub in client.list_subscriptions() if sub.enabled}
        for kind in CONTENT_TYPES:
            if kind.name not in enabled:
                client.start_subscription(kind.name)
                enabled.add(kind.name)
    except ManagementApiError as error:
        findings.append(Finding("audit logging", False, error.explanation, error.fix))
        return findings
    findings.append(Finding("audit logging", True, "the API accepts subscriptions"))
    findings.append(
        Finding(
            "subscriptions",
            len(enabled) == len(CONTENT_TYPES),
            f"enabled: {', '.join(sorted(enabled))}",
        )
    )

    ages = []
    for kind in CONTENT_TYPES:
        try:
            newest = max(
                (
                    blob.content_created
                    for blob in client.list_content(kind.name, now - timedelta(hours=24), now)
                ),
                default=None,
            )
        except ManagementApiError as error:
            findings.append(Finding(f"content {kind.name}", False, error.explanation, error.fix))
            continue
        ages.append((kind.name, None if newest is None else now - newest))
    stale = [name for name, age in ages if age is None]
    findings.append(
        Finding(
            "newest content",
            not stale,
            "; ".join(
                f"{name}: {'none in 24 h' if age is None else _age(age)}" for name, age in ages
            ),
            "New subscriptions can take up to 12 hours to list content; if none appears after "
            "that, check that the tenant has activity and auditing is on."
            if stale
            else "",
        )
    )
    return findings


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min old"
