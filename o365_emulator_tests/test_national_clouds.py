"""Tenants of every national cloud: the emulator issues and accepts tokens only for the tenant's
cloud resource ("Get started with Office 365 Management APIs"), and the client asks for its
configured cloud's scope even when both hosts point at the emulator. All over real loopback
HTTPS, msal included, no mocks.
"""

from datetime import timedelta

import jwt
import pytest
import requests

from o365_emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    start_emulator,
)
from o365_emulator.activity import FEED_PATH
from o365_emulator.clock import EmulatorClock
from o365_emulator.identity import CLOUD_RESOURCES, IdentityService
from o365_emulator_tests.conftest import Api, error_code, fetch_token
from o365_pipeline.api.clouds import CLOUDS
from o365_pipeline.api.errors import AuthenticationError, ManagementApiError
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.fixtures import TENANT_ID

OTHER_TENANT_ID = DEMO_TENANTS[1].tenant_id
EXCHANGE = "Audit.Exchange"

# The hosts of "Get started with Office 365 Management APIs", "Microsoft 365 national cloud
# endpoints" and the Office 365 Management Activity API reference, written out so a typo in
# either table fails here: (API host, login host, token resource).
REFERENCE_HOSTS = {
    "commercial": (
        "manage.office.com",
        "login.microsoftonline.com",
        "https://manage.office.com",
    ),
    "gcc": ("manage-gcc.office.com", "login.microsoftonline.com", "https://manage-gcc.office.com"),
    "gcc_high": ("manage.office365.us", "login.microsoftonline.us", "https://manage.office365.us"),
    "dod": (
        "manage.protection.apps.mil",
        "login.microsoftonline.us",
        "https://manage.protection.apps.mil",
    ),
    "china": (
        "manage.office365.cn",
        "login.partner.microsoftonline.cn",
        "https://manage.office365.cn",
    ),
}
CLOUD_NAMES = tuple(REFERENCE_HOSTS)
MISMATCHES = [
    (tenant, client) for tenant in CLOUD_NAMES for client in CLOUD_NAMES if tenant != client
]


def _api_requests(emulator):
    return [request for request in emulator.requests() if FEED_PATH.match(request.path)]


def _raw_v1_token(emulator, resource):
    return requests.post(
        f"{emulator.base_url}/{TENANT_ID}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "resource": resource,
        },
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )


@pytest.fixture
def tenant_cloud(request):
    """The cloud of TENANT_ID: commercial unless a test parametrizes it (indirectly)."""
    return getattr(request, "param", "commercial")


@pytest.fixture
def emulator(tenant_cloud):
    """Overrides conftest's emulator (so `make_client` targets this one): TENANT_ID lives in
    `tenant_cloud`, the other demo tenant stays commercial.
    """
    config = EmulatorConfig(
        page_size=3, records_per_hour=30, tenant_clouds=((TENANT_ID, tenant_cloud),)
    )
    with start_emulator(config) as running:
        yield running


def test_the_client_clouds_table_has_exactly_the_reference_hosts():
    assert {
        name: (cloud.api_host, cloud.login_host, cloud.resource) for name, cloud in CLOUDS.items()
    } == REFERENCE_HOSTS
    assert {name: cloud.scope for name, cloud in CLOUDS.items()} == {
        name: f"{resource}/.default" for name, (_api, _login, resource) in REFERENCE_HOSTS.items()
    }


def test_the_emulator_knows_the_same_clouds_and_resources_as_the_client():
    assert CLOUD_RESOURCES == {name: cloud.resource for name, cloud in CLOUDS.items()}


@pytest.mark.parametrize("tenant_cloud", CLOUD_NAMES, indirect=True)
def test_a_client_of_the_tenants_cloud_lists_subscriptions_and_content(
    tenant_cloud, make_client, emulator, last_hour
):
    client = make_client(cloud=tenant_cloud)
    client.start_subscription(EXCHANGE)
    assert [s.content_type for s in client.list_subscriptions()] == [EXCHANGE]
    blobs = list(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1)))
    assert blobs
    assert client.fetch_blob(blobs[0])
    assert all(request.status == 200 for request in _api_requests(emulator))


@pytest.mark.parametrize(("tenant_cloud", "client_cloud"), MISMATCHES, indirect=["tenant_cloud"])
def test_a_client_of_another_cloud_gets_aadsts650052_and_never_reaches_the_api(
    tenant_cloud, client_cloud, make_client, emulator
):
    client = make_client(cloud=client_cloud)
    with pytest.raises(AuthenticationError) as raised:
        client.list_subscriptions()
    error = raised.value
    assert isinstance(error, ManagementApiError)
    assert error.code == "AADSTS650052"
    # The client asked for its own cloud's resource although both hosts are overridden.
    assert CLOUDS[client_cloud].resource in error.api_message
    assert "cloud mismatch" in error.explanation.lower()
    assert "O365_CLOUD" in str(error) and "tenant's cloud" in str(error)
    assert _api_requests(emulator) == []


@pytest.mark.parametrize("tenant_cloud", CLOUD_NAMES, indirect=True)
def test_tokens_carry_the_tenants_cloud_resource_from_v1_and_v2(tenant_cloud, emulator):
    resource = CLOUD_RESOURCES[tenant_cloud]
    v2 = fetch_token(emulator, scope=f"{resource}/.default")
    v1 = _raw_v1_token(emulator, resource)
    assert v2.status_code == v1.status_code == 200
    assert v1.json()["resource"] == resource
    for reply in (v1, v2):
        token = reply.json()["access_token"]
        assert jwt.decode(token, options={"verify_signature": False})["aud"] == resource
        assert Api(emulator, token=token).call("GET", "subscriptions/list").status_code == 200


@pytest.mark.parametrize(("tenant_cloud", "client_cloud"), MISMATCHES, indirect=["tenant_cloud"])
def test_raw_requests_for_another_clouds_resource_get_entras_aadsts650052(
    tenant_cloud, client_cloud, emulator
):
    resource = CLOUD_RESOURCES[client_cloud]
    for reply in (
        fetch_token(emulator, scope=f"{resource}/.default"),
        _raw_v1_token(emulator, resource),
    ):
        body = reply.json()
        assert reply.status_code == 400
        assert body["error"] == "invalid_client"
        assert body["error_codes"] == [650052]
        assert body["error_description"].startswith(
            f'AADSTS650052: The app needs access to a service ("{resource}") that your '
            f'organization "{TENANT_ID}" has not subscribed to or enabled.'
        )


@pytest.mark.parametrize("tenant_cloud", CLOUD_NAMES[1:], indirect=True)
def test_the_api_refuses_a_token_of_another_clouds_resource_like_a_bad_token(emulator):
    """A commercial tenant's token on the URL of a tenant of another cloud stands for a token
    sent to the wrong cloud's host: 401 `Message`, not the AF20010 a same-cloud token gets.
    """
    token = fetch_token(emulator, tenant=OTHER_TENANT_ID).json()["access_token"]
    reply = Api(emulator, token=token).call("GET", "subscriptions/list")
    assert reply.status_code == 401
    assert reply.json() == {"Message": "Authorization has been denied for this request."}
    assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_a_same_cloud_token_of_another_tenant_still_gets_af20010(emulator):
    token = fetch_token(emulator, tenant=OTHER_TENANT_ID).json()["access_token"]
    reply = Api(emulator, token=token).call("GET", "subscriptions/list")
    assert reply.status_code == 401
    assert error_code(reply) == "AF20010"


@pytest.mark.parametrize(
    ("tenant_clouds", "mistake"),
    [(((TENANT_ID, "azure-germany"),), "Unknown cloud"), ((("not-served", "gcc"),), "not in")],
)
def test_a_mistaken_tenant_clouds_setting_is_refused_at_start(tenant_clouds, mistake):
    with pytest.raises(ValueError, match=mistake):
        IdentityService(
            base_url="https://127.0.0.1",
            tenants=(TENANT_ID,),
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            token_lifetime_seconds=3600,
            clock=EmulatorClock(),
            tenant_clouds=tenant_clouds,
        )
