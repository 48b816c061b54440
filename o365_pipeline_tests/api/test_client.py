"""The client against the emulator over real loopback HTTPS (msal included, no mocks)."""

from datetime import timedelta

import pytest

from o365_emulator import (
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    start_emulator,
)
from o365_emulator.fault_rules import make_rule
from o365_pipeline.api.content import ContentBlob
from o365_pipeline.api.errors import (
    AuthenticationError,
    ManagementApiError,
    RetentionWindowError,
    SubscriptionMissingError,
    UntrustedUriError,
)
from o365_pipeline.api.settings import RetryPolicy
from o365_pipeline_tests.emulator_access import client_for
from o365_pipeline_tests.fixtures import TENANT_ID
from o365_pipeline_tests.hostile_hosts import watched_port

EXCHANGE = "Audit.Exchange"


def _truth(emulator, start, hours):
    ids = set()
    for offset in range(hours):
        window_start = start + timedelta(hours=offset)
        ids |= emulator.ground_truth(
            TENANT_ID, EXCHANGE, window_start, window_start + timedelta(hours=1)
        )
    return ids


def _records(client, blobs):
    ids = set()
    for _blob, records in client.fetch_blobs(blobs):
        assert isinstance(records, list), records
        ids |= {record["Id"] for record in records}
    return ids


def test_msal_token_is_reused_from_its_cache_for_later_calls(make_client, emulator):
    client = make_client()
    client.start_subscription(EXCHANGE)
    client.list_subscriptions()
    token_requests = [r for r in emulator.requests() if r.path.endswith("/oauth2/v2.0/token")]
    assert len(token_requests) == 1


def test_listing_follows_next_page_uri_across_pages_and_matches_ground_truth(
    make_client, emulator, last_hour
):
    client = make_client()
    client.start_subscription(EXCHANGE)
    start = last_hour - timedelta(hours=5)
    blobs = list(client.list_content(EXCHANGE, start, last_hour + timedelta(hours=1)))

    pages = [
        r
        for r in emulator.requests()
        if r.path.endswith("/subscriptions/content") and r.status == 200
    ]
    assert len(pages) >= 3, "page_size=3 should force several pages"
    assert any("nextPage=" in r.query for r in pages)
    assert len({blob.content_id for blob in blobs}) == len(blobs)
    assert _records(client, blobs) == _truth(emulator, start, 6)


def test_a_window_longer_than_24_hours_is_split_and_complete(make_client, emulator, last_hour):
    client = make_client()
    client.start_subscription(EXCHANGE)
    start = last_hour - timedelta(hours=29)
    blobs = list(client.list_content(EXCHANGE, start, last_hour + timedelta(hours=1)))

    windows = {
        r.query.split("&endTime=")[0]
        for r in emulator.requests()
        if r.path.endswith("/subscriptions/content") and "nextPage" not in r.query
    }
    assert len(windows) == 2
    assert _records(client, blobs) == _truth(emulator, start, 30)


def test_throttled_calls_are_retried_after_the_retry_after_the_api_asked_for(
    make_client, emulator, last_hour
):
    sleeps = []
    client = make_client(sleeps=sleeps)
    client.start_subscription(EXCHANGE)
    emulator.faults.throttle_next(2, retry_after_seconds=3, status=429)
    blobs = list(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1)))

    assert blobs
    assert sleeps == [3.0, 3.0]
    assert client.stats.throttled == 2


def test_af429_on_http_403_is_treated_as_throttling_too(make_client, emulator, last_hour):
    sleeps = []
    client = make_client(sleeps=sleeps)
    client.start_subscription(EXCHANGE)
    emulator.faults.throttle_next(1, retry_after_seconds=None, status=403)
    assert list(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1)))
    assert len(sleeps) == 1 and sleeps[0] > 0


def test_a_token_expired_on_the_server_is_renewed_transparently(make_client, emulator, last_hour):
    client = make_client()
    client.start_subscription(EXCHANGE)
    emulator.clock.advance(3700)
    assert list(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1)))
    assert client.stats.token_renewals == 1
    assert [r.status for r in emulator.requests() if r.status == 401] == [401]


def test_starting_an_enabled_subscription_again_is_success(make_client, emulator):
    client = make_client()
    client.start_subscription(EXCHANGE)
    again = client.start_subscription(EXCHANGE)
    assert again.enabled
    assert emulator.requests()[-1].status == 400  # AF20024, as the live service answers


def test_listing_before_subscribing_explains_how_to_subscribe(make_client, last_hour):
    with pytest.raises(SubscriptionMissingError, match="subscriptions asset"):
        list(make_client().list_content("Audit.General", last_hour, last_hour + timedelta(hours=1)))


def test_a_window_older_than_retention_fails_before_any_request(make_client, emulator, last_hour):
    start = last_hour - timedelta(days=8)
    before = len(emulator.requests())
    with pytest.raises(RetentionWindowError, match="7 days"):
        list(make_client().list_content(EXCHANGE, start, start + timedelta(hours=1)))
    assert len(emulator.requests()) == before


def test_a_wrong_secret_names_the_aadsts_code_and_never_the_secret(make_client):
    secret = "not-the-right-secret-value"
    with pytest.raises(AuthenticationError) as raised:
        make_client(secret=secret).list_subscriptions()
    assert "AADSTS7000215" in str(raised.value)
    assert secret not in str(raised.value) and DEFAULT_CLIENT_SECRET not in str(raised.value)


def test_a_content_uri_on_another_host_is_refused_and_the_other_host_receives_nothing(
    make_client, last_hour
):
    with watched_port() as (port, accepted):
        blob = ContentBlob(
            EXCHANGE,
            "x",
            f"https://127.0.0.1:{port}/api/v1.0/{TENANT_ID}/activity/feed/audit/x",
            last_hour,
            last_hour + timedelta(days=7),
        )
        with pytest.raises(UntrustedUriError, match="bearer token"):
            make_client().fetch_blob(blob)
    assert accepted == []


def test_fetch_blobs_yields_results_in_listing_order(make_client, last_hour):
    client = make_client(max_concurrent_fetches=4)
    client.start_subscription(EXCHANGE)
    blobs = list(client.list_content(EXCHANGE, last_hour - timedelta(hours=6), last_hour))
    assert [blob for blob, _ in client.fetch_blobs(blobs)] == blobs


def test_every_call_carries_the_publisher_identifier(make_client, emulator):
    make_client().list_subscriptions()
    api_calls = [r for r in emulator.requests() if r.path.startswith("/api/")]
    assert api_calls and all(f"PublisherIdentifier={TENANT_ID}" in r.query for r in api_calls)


def test_an_all_zero_publisher_identifier_is_refused(make_client):
    with pytest.raises(ValueError, match="all-zero"):
        make_client(publisher_id="00000000-0000-0000-0000-000000000000")


def test_a_token_for_another_tenant_is_refused_with_af20010(make_client, emulator):
    from o365_pipeline.api.errors import TenantConfigurationError

    client = make_client()
    client._feed = client._feed.replace(TENANT_ID, "2b8e6f0c-93d4-4c1a-b5e7-0f6a9d3c2e11")
    with pytest.raises(TenantConfigurationError) as raised:
        client.list_subscriptions()
    assert raised.value.code == "AF20010" and raised.value.http_status == 401


def test_granted_roles_are_read_from_the_token_and_a_missing_dlp_role_is_named():
    from o365_pipeline.pipeline.permissions import missing_permission_warning

    config = EmulatorConfig(granted_roles=("ActivityFeed.Read", "ServiceHealth.Read"))
    with start_emulator(config) as running:
        client = client_for(running)
        try:
            assert client.granted_roles() == ("ActivityFeed.Read", "ServiceHealth.Read")
            warning = missing_permission_warning(client, "DLP.All")
            assert "ActivityFeed.ReadDlp" in warning and "admin consent" in warning
            assert missing_permission_warning(client, "Audit.Exchange") is None
        finally:
            client.close()


def test_a_throttle_storm_longer_than_the_attempt_limit_is_waited_out_as_asked(
    emulator, make_client
):
    sleeps = []
    client = make_client(sleeps=sleeps, retry=RetryPolicy(max_attempts=3))
    emulator.faults.throttle_next(7, retry_after_seconds=2)
    assert client.list_subscriptions() == []
    assert sleeps == [2.0] * 7  # exactly what Retry-After asked, beyond max_attempts
    assert client.stats.throttled == 7


def test_server_errors_still_stop_at_the_attempt_limit(emulator, make_client):

    client = make_client(sleeps=[], retry=RetryPolicy(max_attempts=3, initial_backoff_seconds=0))
    emulator.add_faults(make_rule("server_error", count=5, status=503))
    with pytest.raises(ManagementApiError):
        client.list_subscriptions()
    assert client.stats.retries == 2


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_its_target_receives_nothing(
    make_client, emulator, last_hour, status
):
    client = make_client()
    client.start_subscription(EXCHANGE)
    blob = next(iter(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1))))
    with watched_port() as (port, accepted):
        target = f"https://127.0.0.1:{port}/elsewhere"
        emulator.add_faults(make_rule("redirect", status=status, location=target, count="all"))
        try:
            with pytest.raises(UntrustedUriError, match="redirect"):
                client.fetch_blob(blob)
        finally:
            emulator.clear_faults()
    assert accepted == []
