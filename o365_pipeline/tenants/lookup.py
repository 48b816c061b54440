"""Resolve a verified domain (contoso.onmicrosoft.com) to its tenant GUID, as Entra publishes
it: the `issuer` of the tenant's OpenID configuration names the GUID. Operators often know a
customer's domain rather than its GUID; the registry stores the GUID once known.
"""

from __future__ import annotations

import re

import requests

from o365_pipeline.api.auth import VerifyingSession
from o365_pipeline.tenants import InvalidTenantError, validate_tenant_id

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$", re.I)


def resolve_tenant_id(
    tenant: str, *, login_base_url: str, verify: str | bool = True, timeout: float = 30
) -> str:
    """The tenant GUID for a GUID or a verified domain.

    Raises:
        InvalidTenantError: neither a GUID nor a domain, or a domain Entra does not know.

    """
    text = tenant.strip()
    if _GUID.fullmatch(text):
        return validate_tenant_id(text)
    if not _DOMAIN.fullmatch(text):
        raise InvalidTenantError(
            f"Invalid tenant {tenant!r}: give the Entra tenant GUID "
            "(e.g. 7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90) or a verified domain "
            "(e.g. contoso.onmicrosoft.com)."
        )
    url = f"{login_base_url.rstrip('/')}/{text.lower()}/v2.0/.well-known/openid-configuration"
    with VerifyingSession(verify) as session:
        try:
            response = session.get(url, timeout=timeout)
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise InvalidTenantError(
                f"Could not look up the domain {text} at {login_base_url} "
                f"({type(error).__name__}); give the tenant GUID instead."
            ) from None
    issuer = body.get("issuer", "") if isinstance(body, dict) else ""
    found = _GUID.search(issuer)
    if response.status_code != 200 or not found:
        raise InvalidTenantError(
            f"Entra does not know the domain {text} in this cloud: check the spelling and "
            "the cloud (--cloud), or give the tenant GUID."
        )
    return validate_tenant_id(found.group(0).lower())
