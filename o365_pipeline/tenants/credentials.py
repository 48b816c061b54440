"""Tenant → client settings: the one place that decides, for a tenant, which hosts its calls go
to, which cloud's token scope it asks for, and which app registration signs in.

The decision has three inputs: the deployment's `Endpoint` (the shared app and where the API
is: the cloud's hosts, explicit base URLs, or the local emulator), the tenant (its cloud), and
its registry entry (its own app registration, if any). Nothing else in the package builds a
`ClientSettings` for a tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from o365_pipeline.api.settings import ClientCertificate, ClientSecret, ClientSettings
from o365_pipeline.config import Settings, secret_from_environment
from o365_pipeline.tenants.model import Tenant
from o365_pipeline.tenants.registry import RegisteredTenant, RegistryError


@dataclass(frozen=True)
class Endpoint:
    """Where a deployment's API and token service are, and the shared app it signs in as.

    Attributes:
        api_base_url / login_base_url: explicit hosts; None = the tenant's cloud's hosts.
        ca_bundle: PEM file of the CAs that sign them; None = the system trust store.
        client_id / credential: the shared (multi-tenant) app registration.
        cloud: the deployment's default cloud, for tenants registered as commercial.
        per_tenant_apps: whether registry entries may bring their own app registration
            (not for the local emulator, which knows one app).
        graph_base_url: Microsoft Graph's host (service health); None = the tenant's cloud's.

    """

    api_base_url: str | None
    login_base_url: str | None
    ca_bundle: str | None
    client_id: str
    credential: ClientSecret | ClientCertificate
    cloud: str = "commercial"
    per_tenant_apps: bool = True
    graph_base_url: str | None = None


def shared_app_endpoint(settings: Settings) -> Endpoint:
    """The endpoint of a real deployment, from its settings (`O365_CLIENT_ID` is set)."""
    if settings.client_id is None:
        raise RegistryError("O365_CLIENT_ID is not set: this deployment targets the emulator.")
    return Endpoint(
        api_base_url=settings.api_base_url,
        login_base_url=settings.login_base_url,
        ca_bundle=str(settings.ca_bundle) if settings.ca_bundle else None,
        client_id=settings.client_id,
        credential=shared_credential(
            settings.client_secret.get_secret_value() if settings.client_secret else None,
            settings.client_certificate_file,
            settings.client_certificate_thumbprint,
        ),
        cloud=settings.cloud,
        graph_base_url=settings.graph_base_url,
    )


def shared_credential(
    secret: str | None, certificate_file: str | Path | None, thumbprint: str | None
) -> ClientSecret | ClientCertificate:
    """The shared app's credential: its certificate when one is configured, else its secret."""
    if certificate_file:
        return ClientCertificate(
            private_key_pem=_read_key(Path(certificate_file), "O365_CLIENT_CERTIFICATE_FILE"),
            thumbprint=thumbprint or "",
        )
    return ClientSecret(secret or "")


def client_settings_for(
    endpoint: Endpoint,
    tenant: Tenant,
    entry: RegisteredTenant | None = None,
    **tuning: object,
) -> ClientSettings:
    """The client settings of `tenant` at `endpoint`; `tuning` are further ClientSettings
    fields (timeouts, concurrency, retry policy, rate limit).

    A tenant in a national cloud keeps its own cloud (its token scope and hosts differ); a
    commercial one follows the deployment's default. The local emulator plays every tenant
    in the commercial cloud, with its one app.
    """
    cloud = tenant.cloud if tenant.cloud != "commercial" else endpoint.cloud
    settings = ClientSettings(
        tenant_id=tenant.tenant_id,
        client_id=endpoint.client_id,
        credential=endpoint.credential,
        cloud=cloud if endpoint.per_tenant_apps else "commercial",
        api_base_url=endpoint.api_base_url,
        login_base_url=endpoint.login_base_url,
        ca_bundle=endpoint.ca_bundle,
        graph_base_url=endpoint.graph_base_url,
        **tuning,
    )
    if entry is not None and endpoint.per_tenant_apps:
        settings = with_own_credentials(settings, entry)
    return settings


def with_own_credentials(settings: ClientSettings, entry: RegisteredTenant) -> ClientSettings:
    """`settings` with the entry's own app registration, when it has one.

    Raises:
        RegistryError: the entry names a secret variable that is not set, or an unreadable
            certificate file (the message names which, never a value).

    """
    credential = settings.credential
    if entry.client_secret_env:
        secret = secret_from_environment(entry.client_secret_env)
        if secret is None:
            raise RegistryError(
                f"Tenant {entry.name} takes its client secret from ${entry.client_secret_env}, "
                "which is not set in this process's environment."
            )
        credential = ClientSecret(secret.get_secret_value())
    elif entry.certificate_file:
        key = _read_key(Path(entry.certificate_file), f"tenant {entry.name}'s certificate_file")
        credential = ClientCertificate(private_key_pem=key, thumbprint=entry.certificate_thumbprint)
    return replace(
        settings,
        client_id=entry.client_id or settings.client_id,
        credential=credential,
        cloud=entry.cloud,
    )


def _read_key(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise RegistryError(
            f"Cannot read the certificate key file {path} ({what}): {error.strerror}."
        ) from None
