"""Helpers for talking to the emulator over real loopback HTTPS, the way a client would."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_pipeline_tests.fixtures import TENANT_ID

SCOPE = "https://manage.office.com/.default"


def fetch_token(emulator, tenant=TENANT_ID, **form):
    data = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "scope": SCOPE,
        **form,
    }
    return requests.post(
        f"{emulator.base_url}/{tenant}/oauth2/v2.0/token",
        data=data,
        verify=str(emulator.ca_cert_path),
        timeout=10,
    )


class Api:
    """Calls `/api/v1.0/{tenant}/activity/feed/…` with a bearer token (verify= on every call,
    because REQUESTS_CA_BUNDLE on this machine overrides Session.verify).
    """

    def __init__(self, emulator, tenant=TENANT_ID, token=None):
        self.emulator = emulator
        self.tenant = tenant
        self.token = token or fetch_token(emulator).json()["access_token"]

    def call(self, method, path, headers=None, **params):
        url = (
            path
            if path.startswith("https://")
            else f"{self.emulator.base_url}/api/v1.0/{self.tenant}/activity/feed/{path}"
        )
        return requests.request(
            method,
            url,
            params=params,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            verify=str(self.emulator.ca_cert_path),
            timeout=10,
        )

    def start(self, content_type="Audit.Exchange"):
        return self.call("POST", "subscriptions/start", contentType=content_type)

    def content(self, content_type="Audit.Exchange", **params):
        return self.call("GET", "subscriptions/content", contentType=content_type, **params)


def hour_ago(hours):
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)


def api_text(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def error_code(response):
    return response.json()["error"]["code"]


@pytest.fixture
def api(emulator):
    return Api(emulator)


@pytest.fixture
def subscribed(api):
    assert api.start().status_code == 200
    return api
