"""Only the configured API origin gets the token, as the connecting parser reads the URI: every
authority form that two parsers could read differently is refused, and no accepted URI connects
anywhere else (checked against urllib3, which `requests` connects with, and `urllib.parse`)."""

import itertools
from urllib.parse import urlsplit

import pytest
import requests
from urllib3.util import parse_url

from o365_pipeline.api.trust import Origin, origin_of, refusal

API = Origin("https", "manage.office.com", 443)
TENANT_PATH = "/api/v1.0/7a1c3e55-2f0b-4e8e-9c3d-1b2a4f6e8d90/activity/feed/audit/abc"


@pytest.mark.parametrize(
    "url",
    [
        f"https://manage.office.com{TENANT_PATH}",
        f"https://manage.office.com:443{TENANT_PATH}",
        f"https://MANAGE.office.com{TENANT_PATH}?PublisherIdentifier=x",
    ],
)
def test_the_api_origin_in_its_equivalent_spellings_is_trusted(url):
    assert refusal(url, API) is None


@pytest.mark.parametrize(
    "url",
    [
        f"https://manage.office.com\\@evil.example{TENANT_PATH}",
        f"https://evil.example\\@manage.office.com{TENANT_PATH}",
        f"https://manage.office.com@evil.example{TENANT_PATH}",
        f"https://user:pass@manage.office.com{TENANT_PATH}",
        f"https://evil.example#@manage.office.com{TENANT_PATH}",
        f"https://evil.example?@manage.office.com{TENANT_PATH}",
        f"http://manage.office.com{TENANT_PATH}",
        f"https://manage.office.com:8443{TENANT_PATH}",
        f"https://manage.office.com.evil.example{TENANT_PATH}",
        f"https://manage.office.com%2eevil.example{TENANT_PATH}",
        f"https://manage.office.com {TENANT_PATH}",
        f"https://manage.office.com\t.evil.example{TENANT_PATH}",
        f"//manage.office.com{TENANT_PATH}",
        f"https:manage.office.com{TENANT_PATH}",
        TENANT_PATH,
        "",
    ],
)
def test_hostile_and_ambiguous_forms_are_refused(url):
    assert refusal(url, API) is not None


PIECES = ["manage.office.com", "evil.example", "@", "\\", ":443", ":8443", "/", "#", "?", "%40"]


def test_no_accepted_uri_connects_anywhere_but_the_api_host():
    """Property: for every authority built from hostile pieces, acceptance implies that both
    urllib3 (what connects) and requests' prepared URL name the API host and port."""
    accepted = 0
    for length in range(1, 4):
        for combination in itertools.product(PIECES, repeat=length):
            url = "https://" + "".join(combination) + TENANT_PATH
            if refusal(url, API) is not None:
                continue
            accepted += 1
            connected = parse_url(url)
            assert (connected.host.lower(), connected.port or 443) == ("manage.office.com", 443)
            prepared = parse_url(requests.Request("GET", url).prepare().url)
            assert (prepared.host.lower(), prepared.port or 443) == ("manage.office.com", 443)
            split = urlsplit(url)
            assert (split.hostname, split.port or 443) == ("manage.office.com", 443), url
    assert accepted >= 2  # the plain and the :443 spellings


def test_the_origin_prints_without_the_default_port():
    assert str(origin_of("https://Manage.Office.com:443/x")) == "https://manage.office.com"
    assert str(origin_of("https://127.0.0.1:8443/x")) == "https://127.0.0.1:8443"
