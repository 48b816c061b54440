"""Each kind of bad input the README's troubleshooting table lists gets one clear error that
names the cause and the fix (checked against the emulator over loopback HTTPS)."""

import socket
from datetime import UTC, datetime, timedelta

import pytest

from o365_emulator import (
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    start_emulator,
)
from o365_pipeline.api.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RetentionWindowError,
    TenantConfigurationError,
    UnreachableHostError,
)
from o365_pipeline.api.settings import RetryPolicy
from o365_pipeline.content_types import UnknownContentTypeError, content_type_named
from o365_pipeline.tenants import InvalidTenantError, validate_tenant_id
from o365_pipeline_tests.emulator_access import client_for
from o365_pipeline_tests.fixtures import TENANT_ID

UNKNOWN_TENANT = "0d5f7c2a-1b3e-4f60-8a9b-7c6d5e4f3a21"


def _client(emulator, tenant_id=TENANT_ID, secret=DEFAULT_CLIENT_SECRET):
    return client_for(emulator, tenant_id=tenant_id, secret=secret)


def test_wrong_tenant_id_format():
    with pytest.raises(InvalidTenantError, match="expected the Entra tenant GUID"):
        validate_tenant_id("contoso.onmicrosoft")


def test_unknown_tenant(emulator):
    with pytest.raises(AuthenticationError) as caught:
        _client(emulator, tenant_id=UNKNOWN_TENANT).list_subscriptions()
    assert caught.value.code == "AADSTS90002"
    assert "does not exist" in str(caught.value) and "O365_CLOUD" in str(caught.value)


def test_wrong_secret_is_named_without_showing_it(emulator):
    with pytest.raises(AuthenticationError) as caught:
        _client(emulator, secret="not-the-secret").list_subscriptions()
    assert caught.value.code == "AADSTS7000215"
    assert "secret" in str(caught.value) and "not-the-secret" not in str(caught.value)


def test_missing_activity_feed_read():
    with start_emulator(EmulatorConfig(granted_roles=("ServiceHealth.Read",))) as emulator:
        with pytest.raises(PermissionDeniedError) as caught:
            _client(emulator).list_subscriptions()
    assert caught.value.code == "AF10001"
    assert "ActivityFeed.Read" in str(caught.value) and "admin consent" in str(caught.value)


def test_audit_logging_off():
    config = EmulatorConfig(auditing_off_tenants=(TENANT_ID,))
    with start_emulator(config) as emulator:
        with pytest.raises(TenantConfigurationError) as caught:
            _client(emulator).start_subscription("Audit.Exchange")
    message = str(caught.value)
    assert "unified audit logging is off" in message
    assert "UnifiedAuditLogIngestionEnabled" in message


def test_window_older_than_seven_days(emulator):
    start = datetime.now(UTC) - timedelta(days=8)
    with pytest.raises(RetentionWindowError, match="last 7 days"):
        list(_client(emulator).list_content("Audit.Exchange", start, start + timedelta(hours=1)))
    assert emulator.requests() == []  # refused before any request


def test_unknown_content_type():
    with pytest.raises(UnknownContentTypeError) as caught:
        content_type_named("Audit.Exchang")
    assert "Audit.Exchange" in str(caught.value) and "DLP.All" in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("field", "setting"),
    [("api_base_url", "O365_API_BASE_URL"), ("login_base_url", "O365_LOGIN_BASE_URL")],
)
def test_a_host_that_refuses_connections_is_named_after_a_few_attempts(make_client, field, setting):
    dead = f"https://127.0.0.1:{_closed_port()}"
    sleeps = []
    client = make_client(sleeps=sleeps, **{field: dead})
    with pytest.raises(UnreachableHostError) as caught:
        client.list_subscriptions()
    message = str(caught.value)
    assert f"Cannot reach {dead.removeprefix('https://')}" in message and setting in message
    # Three attempts in all, so two waits, not the minutes of backoff of a live service.
    assert len(sleeps) == RetryPolicy().unreachable_attempts - 1
