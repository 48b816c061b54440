"""Dagster resources: the Management API and the data folder.

The API resource only holds configuration (base URLs, CA bundle, the shared app; the secret as
an `EnvVar`) and builds plain `ManagementApiClient`s through `tenants.credentials`; nothing
Dagster-specific reaches the core. Which endpoint it holds is the composition root's choice
(`o365_pipeline.definitions`): the local emulator is a subclass defined there.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg
from pydantic import Field

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.service_communications import ServiceCommunicationsClient
from o365_pipeline.api.settings import ClientSettings, RetryPolicy
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.credentials import Endpoint, client_settings_for, shared_credential
from o365_pipeline.tenants.registry import RegisteredTenant

_clients_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def _cached(kind: type, settings: ClientSettings):
    """One client of `kind` per settings in this process (one msal application and session)."""
    with _clients_lock:
        key = (kind, settings)
        if key not in _clients:
            _clients[key] = kind(settings)
        return _clients[key]


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
    """The Office 365 Management Activity API of a deployment: the shared app registration
    and where the API is (the cloud's hosts, or explicit base URLs and their CA bundle).
    """

    client_id: str = Field(description="Application (client) id of the shared app registration.")
    client_secret: str | None = Field(
        default=None, description="Its client secret (an EnvVar: O365_CLIENT_SECRET)."
    )
    client_certificate_file: str | None = Field(
        default=None, description="Or: PEM file of its certificate's private key."
    )
    client_certificate_thumbprint: str | None = Field(
        default=None, description="SHA-1 thumbprint (hex) of that certificate."
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
    graph_base_url: str | None = Field(
        default=None,
        description="Override Microsoft Graph's base URL (service health); unset = the cloud's.",
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
    rate_limit_database_url: str | None = Field(
        default=None,
        description="Or the database keeping them for every machine (postgresql://…); "
        "unset = the folder.",
    )
    rate_limit_database_password: str | None = Field(
        default=None, description="Its password (an EnvVar: O365_POSTGRES_PASSWORD)."
    )
    retry_initial_backoff_seconds: float = Field(
        default=1.0,
        description="First wait before retrying a failed call when the API gives no "
        "Retry-After (doubles per attempt, capped at 60 s).",
    )
    max_retry_attempts: int = Field(default=8, description="Attempts per request.")
    max_retry_wait_seconds: float = Field(
        default=900.0, description="Seconds of retry waits one request may add up to."
    )
    request_deadline_seconds: float = Field(
        default=600.0, description="Seconds one request may take, connect to last byte."
    )
    window_deadline_seconds: float = Field(
        default=3600.0, description="Seconds listing (or fetching) one window may take."
    )
    max_pages_per_window: int = Field(
        default=2000, description="Listing pages one window may take before it counts as a loop."
    )

    def client_tuning(self) -> dict[str, object]:
        """The client settings besides endpoint and tenant (the CLI builds its plain clients
        with the same, so a command and a run behave alike).
        """
        return {
            "publisher_id": self.publisher_id,
            "max_concurrent_fetches": self.max_concurrent_fetches,
            "timeout_seconds": self.timeout_seconds,
            "retry": self.retry_policy(),
            "rate_limit_per_minute": self.rate_limit_per_minute or None,
            "rate_limit_folder": self.rate_limit_folder,
            "rate_limit_database_url": self.rate_limit_database_url,
            "rate_limit_database_password": self.rate_limit_database_password,
        }

    def retry_policy(self) -> RetryPolicy:
        """The bounds on retries and waits that this resource's clients use."""
        return RetryPolicy(
            max_attempts=self.max_retry_attempts,
            initial_backoff_seconds=self.retry_initial_backoff_seconds,
            max_total_wait_seconds=self.max_retry_wait_seconds,
            request_deadline_seconds=self.request_deadline_seconds,
            window_deadline_seconds=self.window_deadline_seconds,
            max_pages_per_window=self.max_pages_per_window,
        )

    def endpoint(self, all_tenants: tuple[Tenant, ...]) -> Endpoint:
        """Where this deployment's calls go, and as which app (`all_tenants` matters only to
        an endpoint that must know whom it serves, such as the local emulator).
        """
        return Endpoint(
            api_base_url=self.api_base_url,
            login_base_url=self.login_base_url,
            ca_bundle=self.ca_bundle,
            client_id=self.client_id,
            credential=shared_credential(
                self.client_secret, self.client_certificate_file, self.client_certificate_thumbprint
            ),
            cloud=self.cloud,
            graph_base_url=self.graph_base_url,
        )

    def client_for(
        self,
        tenant: Tenant,
        all_tenants: tuple[Tenant, ...],
        entry: RegisteredTenant | None = None,
    ) -> ManagementApiClient:
        """This process's client for `tenant` (one msal application and session per tenant),
        with the tenant's own app registration when its registry `entry` names one.
        """
        return _cached(ManagementApiClient, self.settings_for(tenant, all_tenants, entry))

    def graph_client_for(
        self,
        tenant: Tenant,
        all_tenants: tuple[Tenant, ...],
        entry: RegisteredTenant | None = None,
    ) -> ServiceCommunicationsClient:
        """This process's Microsoft Graph client for `tenant` (service health), with the same
        app, cloud and tuning as its Activity API client.
        """
        return _cached(ServiceCommunicationsClient, self.settings_for(tenant, all_tenants, entry))

    def settings_for(
        self,
        tenant: Tenant,
        all_tenants: tuple[Tenant, ...],
        entry: RegisteredTenant | None = None,
    ) -> ClientSettings:
        """The client settings of `tenant` at this resource's endpoint, with its tuning."""
        return client_settings_for(
            self.endpoint(all_tenants), tenant, entry, **self.client_tuning()
        )
