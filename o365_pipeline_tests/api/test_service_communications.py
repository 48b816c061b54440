"""The Microsoft Graph service communications client against the emulator over real loopback
HTTPS: a Graph token for the tenant's cloud, every `@odata.nextLink` followed on the Graph
origin only, and a missing permission named with its fix."""

import jwt
import pytest

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig, start_emulator
from o365_emulator.identity import ALL_ROLES
from o365_pipeline.api.clouds import CLOUDS
from o365_pipeline.api.errors import UntrustedUriError
from o365_pipeline.api.service_communications import (
    ServiceCommunicationsClient,
    ServiceHealthPermissionError,
    parse_graph_time,
)
from o365_pipeline.api.settings import ClientSecret, ClientSettings, RetryPolicy
from o365_pipeline_tests.fixtures import TENANT_ID


def graph_client(emulator, **overrides) -> ServiceCommunicationsClient:
    settings = ClientSettings(
        tenant_id=overrides.pop("tenant_id", TENANT_ID),
        client_id=DEFAULT_CLIENT_ID,
        credential=ClientSecret(DEFAULT_CLIENT_SECRET),
        api_base_url=emulator.base_url,
        login_base_url=emulator.base_url,
        graph_base_url=emulator.base_url,
        ca_bundle=str(emulator.ca_cert_path),
        retry=RetryPolicy(initial_backoff_seconds=0.01),
        **overrides,
    )
    return ServiceCommunicationsClient(settings)


@pytest.fixture
def graph():
    with start_emulator(EmulatorConfig(graph_page_size=4)) as running:
        yield running


def test_issues_are_read_across_every_next_link(graph):
    client = graph_client(graph)
    issues = list(client.issues_modified_since(None))
    truth = graph.service_health.issues_at(TENANT_ID, graph.clock.now())
    pages = [r for r in graph.requests() if r.path.endswith("/serviceAnnouncement/issues")]
    assert sorted(issue["id"] for issue in issues) == sorted(i.issue_id for i in truth)
    assert len(pages) == -(-len(truth) // 4) > 2
    assert all("PublisherIdentifier" not in request.query for request in pages)


def test_the_filter_asks_only_for_issues_modified_since(graph):
    client = graph_client(graph)
    everything = list(client.issues_modified_since(None))
    newest = max(everything, key=lambda issue: issue["lastModifiedDateTime"])
    since = client.issues_modified_since(parse_graph_time(newest["lastModifiedDateTime"]))
    assert [issue["id"] for issue in since] == [newest["id"]]


def test_a_next_link_to_another_host_is_refused_and_that_host_receives_nothing(graph):
    with start_emulator() as elsewhere:
        graph.graph.hand_out_next_links_on(elsewhere.base_url)
        client = graph_client(graph)
        with pytest.raises(UntrustedUriError) as raised:
            list(client.issues_modified_since(None))
        assert elsewhere.requests() == []
    assert elsewhere.base_url.removeprefix("https://") in str(raised.value)
    assert "O365_GRAPH_BASE_URL" in str(raised.value)


def test_a_missing_service_health_permission_names_the_permission_and_the_fix():
    config = EmulatorConfig(tenant_roles=((TENANT_ID, ALL_ROLES),))
    with start_emulator(config) as emulator:
        client = graph_client(emulator)
        with pytest.raises(ServiceHealthPermissionError) as raised:
            list(client.issues_modified_since(None))
    message = str(raised.value)
    assert "ServiceHealth.Read.All" in message and "admin consent" in message
    assert "HTTP 403" in message and "Traceback" not in message
    assert not raised.value.retriable


def test_the_token_is_asked_for_the_graph_scope_of_the_tenants_cloud():
    config = EmulatorConfig(tenant_clouds=((TENANT_ID, "gcc_high"),))
    with start_emulator(config) as emulator:
        client = graph_client(emulator, cloud="gcc_high")
        issues = list(client.issues_modified_since(None))
        token = client._auth.access_token()
    assert issues
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == (
        "https://graph.microsoft.us"
    )


def test_every_cloud_names_its_graph_host():
    assert {name: cloud.graph_scope for name, cloud in CLOUDS.items()} == {
        "commercial": "https://graph.microsoft.com/.default",
        "gcc": "https://graph.microsoft.com/.default",
        "gcc_high": "https://graph.microsoft.us/.default",
        "dod": "https://dod-graph.microsoft.us/.default",
        "china": "https://microsoftgraph.chinacloudapi.cn/.default",
    }
