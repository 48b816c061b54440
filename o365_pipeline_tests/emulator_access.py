"""Ways tests reach a running emulator: a plain client, the Dagster resource, or the
environment variables a real deployment would set (one place, so every test points at the
emulator the same way)."""

from pathlib import Path

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.settings import ClientSecret, ClientSettings
from o365_pipeline.defs.resources import ManagementApiResource
from o365_pipeline.tenants import DEMO_TENANTS


def client_for(
    emulator,
    *,
    tenant_id: str = DEMO_TENANTS[0].tenant_id,
    secret: str = DEFAULT_CLIENT_SECRET,
    **settings,
) -> ManagementApiClient:
    """A client of `tenant_id` on the emulator; keyword arguments are further ClientSettings."""
    return ManagementApiClient(
        ClientSettings(
            tenant_id=tenant_id,
            client_id=DEFAULT_CLIENT_ID,
            credential=ClientSecret(secret),
            api_base_url=emulator.base_url,
            login_base_url=emulator.base_url,
            ca_bundle=str(emulator.ca_cert_path),
            **settings,
        )
    )


def api_resource_for(emulator, work_dir: Path, **fields) -> ManagementApiResource:
    """The Dagster resource configured as for a real tenant, aimed at the emulator."""
    return ManagementApiResource(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        api_base_url=emulator.base_url,
        login_base_url=emulator.base_url,
        ca_bundle=str(emulator.ca_cert_path),
        rate_limit_folder=str(Path(work_dir) / ".ratelimit"),
        **fields,
    )


def point_environment_at(
    monkeypatch, emulator, *, tenant_id: str, secret: str, data_dir: Path, name: str = "acme"
) -> None:
    """The environment variables alone that switch the code location to `emulator`."""
    for variable, value in {
        "O365_TENANT_ID": tenant_id,
        "O365_TENANT_NAME": name,
        "O365_CLIENT_ID": DEFAULT_CLIENT_ID,
        "O365_CLIENT_SECRET": secret,
        "O365_API_BASE_URL": emulator.base_url,
        "O365_LOGIN_BASE_URL": emulator.base_url,
        "O365_CA_BUNDLE": str(emulator.ca_cert_path),
        "O365_DATA_DIR": str(data_dir),
    }.items():
        monkeypatch.setenv(variable, value)
