"""URLs the emulator hands out are on the host and port the client addressed (its `Host`
header), like the service's: the reference's contentUri and NextPageUri samples are absolute
URLs on the API host that was called, with no explicit default port
(https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference,
"List available content" and "Pagination"; RFC 9110 section 7.2 for `Host`).
"""

import http.client
import json
import ssl

import pytest

from o365_emulator.origin import request_origin
from o365_emulator_tests.conftest import api_text, hour_ago
from o365_pipeline_tests.fixtures import TENANT_ID


def _listing(api, host, hours=20):
    return api.call(
        "GET",
        "subscriptions/content",
        headers={"Host": host},
        contentType="Audit.Exchange",
        startTime=api_text(hour_ago(hours)),
        endTime=api_text(hour_ago(0)),
    )


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("manage.office.com", "https://manage.office.com"),
        ("manage.office.com:443", "https://manage.office.com"),
        ("MANAGE.Office.com:8443", "https://manage.office.com:8443"),
        ("[::1]:9443", "https://[::1]:9443"),
    ],
)
def test_content_uris_are_on_the_host_the_client_called(subscribed, host, origin):
    response = _listing(subscribed, host)
    assert response.status_code == 200, response.text
    root = f"{origin}/api/v1.0/{TENANT_ID}/activity/feed/"
    assert response.json() and all(
        item["contentUri"] == f"{root}audit/{item['contentId']}" for item in response.json()
    )
    assert response.headers["NextPageUri"].startswith(f"{root}subscriptions/content?")


def test_a_listing_reached_as_localhost_can_be_followed_as_localhost(subscribed):
    host = f"localhost:{subscribed.emulator.port}"
    first = _listing(subscribed, host)
    next_uri = first.headers["NextPageUri"]
    assert next_uri.startswith(f"https://{host}/")
    # Follow it over the loopback address, keeping the Host the URL names.
    second = subscribed.call(
        "GET", next_uri.replace(f"https://{host}", subscribed.emulator.base_url), {"Host": host}
    )
    assert second.status_code == 200
    assert all(item["contentUri"].startswith(f"https://{host}/") for item in second.json())


@pytest.mark.parametrize(
    "host", ["evil.example/path", "user@evil.example", "evil.example:99999", "-bad-.example", "a b"]
)
def test_a_malformed_host_header_falls_back_to_the_bound_address(subscribed, host):
    response = _listing(subscribed, host)
    assert response.status_code == 200, response.text
    assert all(
        item["contentUri"].startswith(f"{subscribed.emulator.base_url}/api/v1.0/")
        for item in response.json()
    )


def test_a_request_without_host_gets_urls_on_the_bound_address(subscribed):
    emulator = subscribed.emulator
    context = ssl.create_default_context(cafile=str(emulator.ca_cert_path))
    connection = http.client.HTTPSConnection("127.0.0.1", emulator.port, context=context)
    path = (
        f"/api/v1.0/{TENANT_ID}/activity/feed/subscriptions/content?contentType=Audit.Exchange"
        f"&startTime={api_text(hour_ago(20))}&endTime={api_text(hour_ago(0))}"
    )
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Authorization", f"Bearer {subscribed.token}")
    connection.endheaders()
    items = json.loads(connection.getresponse().read())
    connection.close()
    assert items and all(item["contentUri"].startswith(emulator.base_url) for item in items)


def test_the_discovery_document_names_the_host_the_client_called(api):
    response = api.call(
        "GET",
        f"{api.emulator.base_url}/{TENANT_ID}/v2.0/.well-known/openid-configuration",
        {"Host": "login.example:8443"},
    )
    document = response.json()
    assert document["token_endpoint"] == f"https://login.example:8443/{TENANT_ID}/oauth2/v2.0/token"
    assert document["issuer"] == f"https://login.example:8443/{TENANT_ID}/v2.0"


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("example.com", "https://example.com"),
        ("example.com:443", "https://example.com"),
        ("10.0.0.5:8443", "https://10.0.0.5:8443"),
        (None, "https://fallback:1"),
        ("", "https://fallback:1"),
        ("example.com:0", "https://fallback:1"),
        ("example.com:", "https://fallback:1"),
        ("exa_mple.com", "https://fallback:1"),
        ("example.com\r\nX-Injected: 1", "https://fallback:1"),
    ],
)
def test_request_origin_accepts_only_host_and_port(host, origin):
    assert request_origin(host, "https://fallback:1") == origin
