"""`resources/dlpSensitiveTypes` takes one language in `Accept-Language`, as Microsoft does.

Office 365 Management Activity API reference, "Retrieve resource friendly names" and "Errors":
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference
(AF20053 "Only one language may be present in the Accept-Language header.", AF20054 "Invalid
syntax in Accept-Language header.").
"""

import pytest
import requests


def _sensitive_types(api, accept_language=None):
    headers = {"Authorization": f"Bearer {api.token}"}
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    return requests.get(
        f"{api.emulator.base_url}/api/v1.0/{api.tenant}/activity/feed/resources/dlpSensitiveTypes",
        headers=headers,
        verify=str(api.emulator.ca_cert_path),
        timeout=30,
    )


@pytest.mark.parametrize("accept_language", [None, "en-US", "es", "zh-Hant-TW", "fr;q=0.8", "*"])
def test_one_language_or_none_lists_the_types(api, accept_language):
    response = _sensitive_types(api, accept_language)
    assert response.status_code == 200, response.text
    assert response.json() and all(set(item) == {"id", "name"} for item in response.json())


@pytest.mark.parametrize("accept_language", ["en-US, es", "en-US,fr;q=0.5", "de,fr,it"])
def test_more_than_one_language_gets_af20053(api, accept_language):
    response = _sensitive_types(api, accept_language)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "AF20053",
        "message": "Only one language may be present in the Accept-Language header.",
    }


@pytest.mark.parametrize(
    "accept_language", ["en_US", "englishman", "12-US", "en-US;q=2", "en-", ","]
)
def test_a_malformed_language_gets_af20054(api, accept_language):
    response = _sensitive_types(api, accept_language)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "AF20054",
        "message": "Invalid syntax in Accept-Language header.",
    }
