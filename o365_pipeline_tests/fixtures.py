"""Shared fixtures (a pytest plugin, see the root conftest.py): a running emulator over real
loopback HTTPS and clients pointed at it."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from o365_emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    start_emulator,
)
from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.settings import ClientSecret, ClientSettings, RetryPolicy
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.corpus import deselect_corpus_tests

TENANT_ID = DEMO_TENANTS[0].tenant_id


@pytest.fixture
def emulator():
    """A fresh emulator per test (its clock, faults and subscriptions start clean)."""
    with start_emulator(EmulatorConfig(page_size=3, records_per_hour=30)) as running:
        yield running


@pytest.fixture
def make_client(emulator) -> Callable[..., ManagementApiClient]:
    """Build a client for the emulator; keyword arguments override settings."""
    clients = []

    def build(secret: str = DEFAULT_CLIENT_SECRET, sleeps: list | None = None, **overrides):
        sleep = overrides.pop("sleep", None) or (sleeps.append if sleeps is not None else None)
        monotonic = overrides.pop("monotonic", time.monotonic)
        settings = ClientSettings(
            tenant_id=overrides.pop("tenant_id", TENANT_ID),
            client_id=DEFAULT_CLIENT_ID,
            credential=ClientSecret(secret),
            api_base_url=overrides.pop("api_base_url", emulator.base_url),
            login_base_url=overrides.pop("login_base_url", emulator.base_url),
            ca_bundle=str(emulator.ca_cert_path),
            retry=overrides.pop("retry", RetryPolicy(initial_backoff_seconds=0.01)),
            **overrides,
        )
        client = ManagementApiClient(settings, sleep=sleep, monotonic=monotonic)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def last_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def pytest_collection_modifyitems(config, items):
    """Tests that read the third-party corpus run only when ``O365_CORPUS_DIR`` is set."""
    deselect_corpus_tests(config, items)
