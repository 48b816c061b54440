"""The error table of both services the emulator plays, one human message per code.

Activity API errors use the envelope `{"error": {"code": "AF…", "message": "…"}}`, HTTP 400
unless noted (Office 365 Management Activity API reference, "Errors"). Entra token errors use
the OAuth shape `{"error", "error_description": "AADSTS…", "error_codes", "timestamp",
"trace_id", "correlation_id", "error_uri"}` with the statuses of "Microsoft Entra
authentication and authorization error codes"
(https://learn.microsoft.com/entra/identity-platform/reference-error-codes). Keeping both tables
here means a rule violation anywhere in the emulator answers with exactly the code and status a
client will meet live.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from o365_emulator.responses import Reply, json_reply


@dataclass(frozen=True)
class ApiError:
    """One Activity API error: HTTP status and a message template filled per request."""

    status: int
    message: str


API_ERRORS: dict[str, ApiError] = {
    # Live text: the granted permission set is shown inside the parentheses (CoE #3192).
    "AF10001": ApiError(
        401,
        "The permission set ({roles}) sent in the request does not include the expected "
        "permission.",
    ),
    "AF20001": ApiError(400, "Missing parameter: {name}."),
    "AF20002": ApiError(400, "Invalid parameter type: {name}. Expected type: {expected}"),
    "AF20003": ApiError(400, "Expiration {expiration} provided is set to past date and time."),
    # The reference infers 400 ("could be 401/403"); the issue asks for 401 on a wrong-tenant
    # token, so the emulator answers 401 with the documented AF20010 body.
    "AF20010": ApiError(
        401,
        "The tenant ID passed in the URL ({tenant}) does not match the tenant ID passed in the "
        "access token ({token_tenant}).",
    ),
    "AF20011": ApiError(
        400, "Specified tenant ID ({tenant}) does not exist in the system or has been deleted."
    ),
    "AF20013": ApiError(400, "The tenant ID passed in the URL ({tenant}) is not a valid GUID."),
    "AF20020": ApiError(400, "The specified content type is not valid: {content_type}."),
    "AF20021": ApiError(400, "The webhook endpoint {{{address}}} could not be validated. {reason}"),
    "AF20022": ApiError(400, "No subscription found for the specified content type."),
    "AF20024": ApiError(400, "The subscription is already enabled. No property change."),
    "AF20031": ApiError(400, "Invalid nextPage Input: {next_page}."),
    "AF20050": ApiError(400, "The specified content ({content_id}) does not exist."),
    "AF20051": ApiError(
        400,
        "Content requested with the key {content_id} has already expired. Content older than "
        "7 days cannot be retrieved.",
    ),
    "AF20052": ApiError(400, "Content ID {content_id} in the URL is invalid."),
    "AF20053": ApiError(400, "Only one language may be present in the Accept-Language header."),
    "AF20054": ApiError(400, "Invalid syntax in Accept-Language header."),
    # The live service's code for every start/end rule since 2025 (AF20030 is the older one).
    "AF20055": ApiError(400, "{reason}"),
    # Documented on 403; `faults.py` chooses 403 or 429 per injected fault.
    "AF429": ApiError(403, "Too many requests. Method={method}, PublisherId={publisher_id}"),
    "AF50000": ApiError(500, "An internal error occurred. Retry the request."),
}


def api_error(
    code: str, *, status: int | None = None, headers: dict | None = None, **details
) -> Reply:
    """The Activity API's error envelope for `code`, its message filled with `details`."""
    error = API_ERRORS[code]
    message = error.message.format(**details)
    return json_reply(
        status or error.status, {"error": {"code": code, "message": message}}, headers
    )


def access_denied() -> Reply:
    """401 for a missing, invalid or expired token: ASP.NET's body (capital `Message`, no AF
    envelope) and `WWW-Authenticate: Bearer`, as captured live (powerapps-tools #300).
    """
    return json_reply(
        401,
        {"Message": "Authorization has been denied for this request."},
        {"WWW-Authenticate": "Bearer"},
    )


CERTIFICATE_CREDENTIALS_DOC = (
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"
)

# AADSTS700027's (summary, reason) per problem with the key of a certificate assertion, in
# Entra's live wording (passport-azure-ad #453, msal-js #8339, azure-sdk-for-java #25109).
ASSERTION_KEY_PROBLEMS: dict[str, tuple[str, str]] = {
    "not_found": (
        "The certificate with identifier used to sign the client assertion is not registered "
        "on application.",
        "The key was not found.",
    ),
    "bad_signature": (
        "Client assertion contains an invalid signature.",
        "The provided signature value did not match the expected signature value.",
    ),
    "expired": ("Client assertion contains an invalid signature.", "The key used is expired."),
}


@dataclass(frozen=True)
class EntraError:
    """One Entra token-endpoint error: status, OAuth `error` and the AADSTS text."""

    status: int
    error: str
    description: str


ENTRA_ERRORS: dict[int, EntraError] = {
    70003: EntraError(
        400, "unsupported_grant_type", "The app requested an unsupported grant type '{grant}'."
    ),
    90002: EntraError(
        400,
        "invalid_request",
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud.",
    ),
    700016: EntraError(
        400,
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant.",
    ),
    7000215: EntraError(
        401,
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        "'{client_id}'.",
    ),
    # A certificate assertion whose key Entra cannot use: one code, three live wordings (see
    # ASSERTION_KEY_PROBLEMS); the thumbprint shown is the one the client sent, never key data.
    700027: EntraError(
        401,
        "invalid_client",
        "{summary} [Reason - {reason}, Thumbprint of key used by client: '{thumbprint}'"
        "{found_key}, Please visit the Azure Portal, Graph Explorer or directly use MS Graph to "
        "see configured keys for app Id '{client_id}'.]",
    ),
    # iss or sub of the assertion is not the client_id of the request (Azure SDK docs).
    700021: EntraError(
        401,
        "invalid_client",
        "Client assertion application identifier doesn't match 'client_id' parameter. Review "
        f"the documentation at {CERTIFICATE_CREDENTIALS_DOC} .",
    ),
    # aud is not this tenant's token endpoint (live in MSAL.NET #2746, Azure SDK docs).
    700023: EntraError(
        401,
        "invalid_client",
        "Client assertion audience claim does not match Realm issuer. Review the documentation "
        f"at {CERTIFICATE_CREDENTIALS_DOC} .",
    ),
    # exp passed or nbf not reached, beyond the clock-skew allowance.
    700024: EntraError(
        401,
        "invalid_client",
        "Client assertion is not within its valid time range. Current time: {current_time}, "
        f"{{window}}. Review the documentation at {CERTIFICATE_CREDENTIALS_DOC} .",
    ),
    # Not a JWT, or a JWT without the key identifier (live texts, MSAL.NET #124 and
    # panva/openid-client #348).
    50027: EntraError(401, "invalid_client", "{reason}"),
    # client_assertion_type other than jwt-bearer (live, ADAL Ruby #53).
    90011: EntraError(400, "invalid_request", "Unexpected client assertion type."),
    # Both a secret and an assertion [I]: Entra's exact answer is not documented. RFC 6749 §5.2
    # makes "more than one mechanism for authenticating the client" an invalid_request; the code
    # is Entra's for a wrong set of client credentials on client_credentials.
    7000216: EntraError(
        400,
        "invalid_request",
        "'client_assertion', 'client_secret' or 'request' is required for the "
        "'client_credentials' grant type, and only one of them: this request carries both "
        "'client_secret' and 'client_assertion'.",
    ),
    900144: EntraError(
        400, "invalid_request", "The request body must contain the following parameter: '{name}'."
    ),
    1002012: EntraError(
        400,
        "invalid_scope",
        "The provided value for scope {scope} is not valid. Client credential flows must have a "
        "scope value with /.default suffixed to the resource identifier (application ID URI).",
    ),
    # A resource of another national cloud than the tenant's, e.g. the GCC Management API from
    # a commercial tenant (reported live in pnp/powershell#663); Entra's usual wording.
    650052: EntraError(
        400,
        "invalid_client",
        'The app needs access to a service ("{resource}") that your organization "{tenant}" has '
        "not subscribed to or enabled. Contact your IT Admin to review the configuration of "
        "your service subscriptions.",
    ),
    500011: EntraError(
        400,
        "invalid_resource",
        "The resource principal named {resource} was not found in the tenant named {tenant}.",
    ),
}


def entra_error(number: int, *, now: datetime, error_base_url: str, **details) -> Reply:
    """Entra's OAuth error body for AADSTS `number`, with fresh trace and correlation ids."""
    error = ENTRA_ERRORS[number]
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    description = (
        f"AADSTS{number}: {error.description.format(**details)} Trace ID: {trace_id} "
        f"Correlation ID: {correlation_id} Timestamp: {stamp}"
    )
    return json_reply(
        error.status,
        {
            "error": error.error,
            "error_description": description,
            "error_codes": [number],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{error_base_url}/error?code={number}",
        },
        {"Cache-Control": "no-store, no-cache"},
    )


def auditing_off(tenant: str, content_type: str, client_id: str) -> Reply:
    """The garbled 400 the service gives a tenant whose unified audit logging is off: a .NET
    exception string split at its first colon into `code` and `message` (observed behaviour, not
    in the public reference).
    """
    correlation = "4f2c6a1e-0b7d-4e3a-9c55-1d8e2f7a6b30"
    code = (
        f"StartSubscription [CorrId={correlation}][TenantId={tenant},ContentType={content_type},"
        f"ApplicationId={client_id},PublisherId=00000000-0000-0000-0000-000000000000][AppId"
    )
    message = (
        f"{client_id}] failed. Exception: Microsoft.Office.Compliance.Audit.DataServiceException:"
        f" Tenant {tenant} does not exist.\r\n   at Microsoft.Office.Compliance.Audit.API."
        "AuditApiFacade.StartSubscription(Guid tenantId, String contentType)\r\n   at "
        "Microsoft.Office.Compliance.Audit.API.Controllers.SubscriptionsController.Start()"
    )
    return json_reply(400, {"error": {"code": code, "message": message}})
