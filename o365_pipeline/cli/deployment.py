"""What a CLI command works with: the settings, the tenants served, and plain API clients
built the way the Dagster resource builds them (never through a Dagster resource, which only
resolves its `EnvVar`s inside a run).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.clouds import CLOUDS
from o365_pipeline.config import Settings, load_settings
from o365_pipeline.tenants.credentials import Endpoint, client_settings_for
from o365_pipeline.tenants.directory import RegistryTenants, database_url_of, directory_for
from o365_pipeline.tenants.model import Tenant
from o365_pipeline.tenants.registry import RegisteredTenant, TenantRegistryBase


@dataclass
class Deployment:
    """The deployment a command acts on."""

    settings: Settings

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Deployment:
        """Settings from the environment and `.env`, with `--data-dir` when given."""
        data_dir: Path | None = getattr(args, "data_dir", None)
        return cls(load_settings(**({"data_dir": data_dir} if data_dir else {})))

    @cached_property
    def tenants(self) -> RegistryTenants:
        """The tenants served (registry; the demo tenants too when local)."""
        return directory_for(self.settings)

    @property
    def registry(self) -> TenantRegistryBase:
        """The registry of this deployment (its file, or its database's table)."""
        return self.tenants.registry

    def endpoint(self) -> Endpoint:
        """The endpoint chosen by the composition root (starts the local emulator if needed)."""
        from o365_pipeline.definitions import endpoint_for

        return endpoint_for(self.settings, self.tenants.all())

    def client_for(
        self, tenant: Tenant, entry: RegisteredTenant | None = None
    ) -> ManagementApiClient:
        """A plain client of `tenant` (with its registry entry's own app, if any), as a run
        would build it.
        """
        from o365_pipeline.definitions import management_api_for

        tuning = management_api_for(self.settings).client_tuning()
        # The resource holds the database's password as an EnvVar, resolved only in a run.
        database = database_url_of(self.settings)
        tuning["rate_limit_database_password"] = database.password if database else None
        return ManagementApiClient(client_settings_for(self.endpoint(), tenant, entry, **tuning))

    def client_named(self, name: str) -> ManagementApiClient:
        """A plain client of the served tenant called `name`."""
        return self.client_for(self.tenants.get(name), self.tenants.entry(name))

    def login_host(self, cloud: str) -> tuple[str, str | bool]:
        """The login host to ask for `cloud` and what to verify its TLS against."""
        endpoint = self.endpoint()
        base = endpoint.login_base_url or CLOUDS[cloud].login_base_url
        return base, endpoint.ca_bundle or True
