"""Who the pipeline serves: the tenant model, the registry file, the directory a code location
asks, the tenant → client settings decision (cloud and credentials, made once) and the domain
lookup. Importing the package gives the model; the rest is imported from its module.
"""

from o365_pipeline.tenants.model import (
    DEMO_TENANTS,
    InvalidTenantError,
    Tenant,
    validate_customer_name,
    validate_tenant_id,
)

__all__ = [
    "DEMO_TENANTS",
    "InvalidTenantError",
    "Tenant",
    "validate_customer_name",
    "validate_tenant_id",
]
