"""Dagster resources: the Management API (embedded emulator by default, a real tenant through
environment variables) and the data folder.

The resource only holds configuration and builds a plain `ManagementApiClient`; nothing
Dagster-specific reaches the core.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg
from pydantic import Field

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_emulator.embedded import EmbeddedEmulator, embedded_emulator
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.settings import ClientSecret, ClientSettings, RetryPolicy
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.registry import RegisteredTenant, with_own_credentials

_clients_lock = threading.Lock()
_clients: dict[tuple, ManagementApiClient] = {}


class StorageResource(dg.ConfigurableResource):
    """Where Parquet, listings and the ledger live (a local folder; `data/` by default)."""

    data_dir: str = Field(default="data", description="Root folder of the Parquet data.")
    object_store_url: str | None = Field(
        default=None,
        description="Also publish every committed file here (s3://bucket/prefix, abfs://…, "
        "gs://…); credentials come from the backend's usual environment variables.",
    )
    object_store_options: str | None = Field(
        default=None,
        description='Non-secret fsspec options as JSON, e.g. {"client_kwargs": '
        '{"endpoint_url": "https://…"}}.',
    )

    def layout(self) -> DataLayout:
        """The Hive-style layout under `data_dir`."""
        return DataLayout(Path(self.data_dir).resolve())

    def object_store(self) -> ObjectStore | None:
        """The configured object store, if any."""
        return ObjectStore.from_settings(self.object_store_url, self.object_store_options)


class ManagementApiResource(dg.ConfigurableResource):
    """The Office 365 Management Activity API.

    With no `client_id` it targets the embedded local emulator (started on demand, no
    credentials needed). Set `O365_CLIENT_ID`, `O365_CLIENT_SECRET` and `O365_TENANT_ID` to use
    a real tenant; nothing else changes.
    """

    client_id: str | None = Field(
        default=None, description="App registration (client) id; unset = the embedded emulator."
    )
    client_secret: str | None = Field(
        default=None,
        description="Client secret of the app registration (from the O365_CLIENT_SECRET env var).",
    )
    cloud: str = Field(
        default="commercial",
        description="commercial, gcc, gcc_high, dod or "
        "china: selects the login host, API host and token scope together.",
    )
    api_base_url: str | None = Field(
        default=None,
        description="Override the API base URL (e.g. a proxy); unset = the cloud's API host.",
    )
    login_base_url: str | None = Field(
        default=None, description="Override the login base URL; unset = the cloud's login host."
    )
    ca_bundle: str | None = Field(
        default=None,
        description="PEM file of CAs to trust for both hosts; unset = the system trust store.",
    )
    publisher_id: str | None = Field(
        default=None, description="PublisherIdentifier (quota owner); unset = each tenant's own id."
    )
    max_concurrent_fetches: int = Field(default=8, description="Blobs fetched at once per run.")
    timeout_seconds: float = Field(
        default=120.0, description="Seconds to wait for the API between bytes of an answer."
    )
    rate_limit_per_minute: float = Field(
        default=1800,
        description="Requests per minute per tenant and PublisherIdentifier, shared by all runs "
        "on this machine (the API allows about 2,000); 0 = no client-side limit.",
    )
    rate_limit_folder: str = Field(
        default="data/.ratelimit", description="Where the shared request budgets are kept."
    )
    retry_initial_backoff_seconds: float = Field(
        default=1.0,
        description="First wait before retrying a failed call when the API gives no "
        "Retry-After (doubles per attempt, capped at 60 s).",
    )
    emulator_records_per_hour: int = Field(
        default=40, description="Emulator only: records per tenant, content type and hour."
    )
    emulator_state_dir: str = Field(
        default="data/.emulator", description="Emulator only: where its subscription state is kept."
    )

    @property
    def uses_emulator(self) -> bool:
        """Whether calls go to the embedded emulator (no client id configured)."""
        return not self.client_id

    def client_for(
        self,
        tenant: Tenant,
        all_tenants: tuple[Tenant, ...],
        entry: RegisteredTenant | None = None,
    ) -> ManagementApiClient:
        """This process's client for `tenant` (one msal application and session per tenant),
        with the tenant's own app registration when its registry `entry` names one.
        """
        settings = self._settings_for(tenant, all_tenants)
        if entry is not None and not self.uses_emulator:
            settings = with_own_credentials(settings, entry)
        with _clients_lock:
            if settings not in _clients:
                _clients[settings] = ManagementApiClient(settings)
            return _clients[settings]

    def emulator(self, all_tenants: tuple[Tenant, ...]) -> EmbeddedEmulator:
        """The on-demand local emulator serving `all_tenants` (started on first use)."""
        return embedded_emulator(
            tenant_ids=tuple(known.tenant_id for known in all_tenants),
            state_dir=Path(self.emulator_state_dir).resolve(),
            records_per_hour=self.emulator_records_per_hour,
        )

    def _settings_for(self, tenant: Tenant, all_tenants: tuple[Tenant, ...]) -> ClientSettings:
        if not self.uses_emulator:
            return ClientSettings(
                tenant_id=tenant.tenant_id,
                client_id=self.client_id,
                credential=ClientSecret(self.client_secret or ""),
                cloud=tenant.cloud if tenant.cloud != "commercial" else self.cloud,
                api_base_url=self.api_base_url,
                login_base_url=self.login_base_url,
                ca_bundle=self.ca_bundle,
                publisher_id=self.publisher_id,
                max_concurrent_fetches=self.max_concurrent_fetches,
                timeout_seconds=self.timeout_seconds,
                retry=self._retry_policy(),
                rate_limit_per_minute=self.rate_limit_per_minute or None,
                rate_limit_folder=self.rate_limit_folder,
            )
        emulator = self.emulator(all_tenants)
        return ClientSettings(
            tenant_id=tenant.tenant_id,
            client_id=DEFAULT_CLIENT_ID,
            credential=ClientSecret(DEFAULT_CLIENT_SECRET),
            cloud="commercial",
            api_base_url=emulator.base_url,
            login_base_url=emulator.base_url,
            ca_bundle=str(emulator.ca_cert_path),
            publisher_id=self.publisher_id,
            max_concurrent_fetches=self.max_concurrent_fetches,
            timeout_seconds=self.timeout_seconds,
            retry=self._retry_policy(),
            rate_limit_per_minute=self.rate_limit_per_minute or None,
            rate_limit_folder=self.rate_limit_folder,
        )

    def _retry_policy(self) -> RetryPolicy:
        return RetryPolicy(initial_backoff_seconds=self.retry_initial_backoff_seconds)
