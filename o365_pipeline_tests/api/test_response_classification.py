"""Classification of API answers, from hand-built responses in the shapes the reference
documents (Office 365 Management Activity API reference: its operations and "Errors")."""

import json

import pytest
import requests

from o365_pipeline.api.errors import (
    ContentExpiredError,
    PermissionDeniedError,
    SubscriptionMissingError,
    TenantConfigurationError,
    ThrottledError,
    TransientApiError,
)
from o365_pipeline.api.transport import classify, retry_after_seconds


def _response(status: int, body: object, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "AF20022", SubscriptionMissingError),
        (400, "AF20023", SubscriptionMissingError),
        (400, "AF20051", ContentExpiredError),
        (401, "AF10001", PermissionDeniedError),
        (403, "AF429", ThrottledError),
        (500, "AF50000", TransientApiError),
        (400, "AF20013", TenantConfigurationError),
    ],
)
def test_af_codes_map_to_typed_errors_carrying_code_and_fix(status, code, expected):
    error = classify(_response(status, {"error": {"code": code, "message": "text"}}))
    assert isinstance(error, expected)
    assert error.code == code
    assert "Fix:" in str(error)


def test_the_garbled_tenant_does_not_exist_body_means_auditing_is_off():
    # Shape when unified audit logging is off (observed behaviour, not in the public reference):
    # code split at a colon.
    body = {
        "error": {
            "code": "StartSubscription [CorrId=1][TenantId=x,ContentType=Audit.SharePoint][AppId",
            "message": "…] failed. Exception: DataServiceException: Tenant x does not exist.",
        }
    }
    error = classify(_response(400, body))
    assert isinstance(error, TenantConfigurationError)
    assert "audit logging" in str(error)


def test_a_401_without_the_af_envelope_is_a_refused_token():
    error = classify(_response(401, {"Message": "Authorization has been denied for this request."}))
    assert isinstance(error, PermissionDeniedError)


def test_retry_after_in_seconds_is_read():
    assert retry_after_seconds(_response(429, {}, {"Retry-After": "7"})) == 7.0


def test_retry_after_as_an_http_date_in_the_past_means_no_wait():
    past = _response(429, {}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after_seconds(past) == 0.0


def test_missing_retry_after_is_none():
    assert retry_after_seconds(_response(429, {})) is None
