"""Every error the Management API and Entra ID can answer, with one human explanation and fix
per code, and the exceptions that carry them.

`str(error)` is the whole story (what happened, the code, what to do) and never contains a
secret or a token: messages are built only from codes, the API's error text and our own words.
"""

from __future__ import annotations

from dataclasses import dataclass

from o365_pipeline.errors import PipelineError


@dataclass(frozen=True)
class ErrorAdvice:
    """What a code means and how to fix it."""

    explanation: str
    fix: str


ADVICE: dict[str, ErrorAdvice] = {
    "AF10001": ErrorAdvice(
        "The token does not carry the ActivityFeed.Read application permission.",
        "Add the Office 365 Management APIs application permissions "
        "ActivityFeed.Read (and ActivityFeed.ReadDlp for DLP.All) to the app "
        "registration and grant admin consent in the tenant.",
    ),
    "AF20001": ErrorAdvice("A required parameter is missing.", "Report this as a client bug."),
    "AF20002": ErrorAdvice(
        "A parameter has the wrong type (e.g. a malformed date).", "Report this as a client bug."
    ),
    "AF20003": ErrorAdvice("The webhook expiration is in the past.", "Use a future expiration."),
    "AF20010": ErrorAdvice(
        "The tenant in the URL differs from the tenant of the token.",
        "Use the same tenant id for the token and the API calls.",
    ),
    "AF20011": ErrorAdvice(
        "The tenant does not exist or was deleted.",
        "Check the tenant id (Entra admin center > Overview > Tenant ID).",
    ),
    "AF20012": ErrorAdvice(
        "The tenant is not configured for the Activity API (no Office 365 licence or audit state).",
        "Check the tenant's licences and auditing.",
    ),
    "AF20013": ErrorAdvice(
        "The tenant id in the URL is not a GUID.",
        "Configure the tenant by its GUID, not its domain name.",
    ),
    "AF20020": ErrorAdvice(
        "The content type is not one of the five the API serves.",
        "Use Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, "
        "Audit.General or DLP.All.",
    ),
    "AF20021": ErrorAdvice(
        "The webhook endpoint could not be validated.",
        "Use an HTTPS endpoint that answers the validation POST with 200.",
    ),
    "AF20022": ErrorAdvice(
        "There is no subscription for this content type in the tenant.",
        "Materialize the subscriptions asset (it starts every content type), "
        "then retry; new subscriptions can take up to 12 hours to list content.",
    ),
    "AF20023": ErrorAdvice(
        "The subscription was disabled (by an admin, or auditing was turned off).",
        "Check that unified audit logging is on, then materialize the "
        "subscriptions asset to start it again.",
    ),
    "AF20024": ErrorAdvice("The subscription is already enabled.", "Nothing to do."),
    "AF20030": ErrorAdvice(
        "The start/end times break the API's window rules (both or neither, at "
        "most 24 hours apart, start at most 7 days back).",
        "Use windows within the last 7 days, at most 24 hours long.",
    ),
    "AF20031": ErrorAdvice(
        "The next-page token was rejected.", "Re-list the window from its start."
    ),
    "AF20050": ErrorAdvice(
        "The content blob does not exist.", "Re-list the window; the listing may be stale."
    ),
    "AF20051": ErrorAdvice(
        "The content blob has expired and can no longer be fetched.",
        "None: its records are lost from the API. Keep the pipeline running "
        "at least daily so blobs are fetched well before contentExpiration.",
    ),
    "AF20052": ErrorAdvice(
        "The content id in the URL is invalid.",
        "Re-list the window; follow contentUri exactly as listed.",
    ),
    "AF20055": ErrorAdvice(
        "The start/end times break the API's window rules (at most 24 hours "
        "apart, start at most 7 days back, start before end).",
        "Use windows within the last 7 days, at most 24 hours long; if the "
        "local clock is wrong, fix it (NTP).",
    ),
    "AF429": ErrorAdvice(
        "The tenant's request budget is used up (throttled).",
        "Retried automatically honouring Retry-After; set a PublisherIdentifier "
        "(O365_PUBLISHER_ID, your own tenant GUID) and lower concurrency.",
    ),
    "AF50000": ErrorAdvice("The service had an internal error.", "Retry later."),
    "AF50005": ErrorAdvice("The service had an internal error.", "Retry later."),
    "AF50006": ErrorAdvice("The service had an internal error.", "Retry later."),
    "HTTP401": ErrorAdvice(
        "The API refused the bearer token (missing, invalid or expired).",
        "Check the client id, secret and tenant; the token is renewed automatically once.",
    ),
    "AUDIT_OFF": ErrorAdvice(
        "The service says the tenant does not exist: this is what it answers "
        "when unified audit logging is off or not yet provisioned.",
        "Turn on audit logging (Purview portal > Audit, or "
        "Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true); it "
        "takes up to 60 minutes to take effect.",
    ),
    "AADSTS7000215": ErrorAdvice(
        "Entra ID rejected the client secret.",
        "Copy the secret's *value* (not its id) into O365_CLIENT_SECRET.",
    ),
    "AADSTS7000222": ErrorAdvice(
        "The client secret has expired.", "Create a new secret for the app registration."
    ),
    "AADSTS700016": ErrorAdvice(
        "The application is not known in this tenant (never consented).",
        "Have an administrator of the tenant grant admin consent.",
    ),
    "AADSTS90002": ErrorAdvice(
        "The tenant does not exist in this cloud.",
        "Check the tenant id and the cloud setting (O365_CLOUD).",
    ),
    "AADSTS1002012": ErrorAdvice(
        "The requested scope is invalid.",
        "Client credentials need the scope '<resource>/.default'.",
    ),
    "AADSTS650052": ErrorAdvice(
        "Cloud mismatch: the token was requested for the Management API of another Microsoft "
        "cloud than the tenant's, so Entra ID says the tenant has not subscribed to that "
        "service.",
        "Set O365_CLOUD to the tenant's cloud (commercial, gcc, gcc_high, dod or china); a "
        "tenant's token is valid only on its own cloud's API host.",
    ),
    "AADSTS700027": ErrorAdvice(
        "Entra ID rejected the certificate credential: no certificate with the configured "
        "thumbprint is registered on the app, the registered one has expired, or the private "
        "key does not belong to the certificate with that thumbprint (the message says which "
        "and shows the thumbprint sent).",
        "Upload the certificate (public .cer/.pem) under the app registration's Certificates & "
        "secrets, set the thumbprint to the SHA-1 thumbprint shown there, and use the private "
        "key that was generated with that certificate; renew an expired certificate.",
    ),
    "AADSTS700024": ErrorAdvice(
        "The signed certificate assertion is outside its valid time range: this machine's "
        "clock differs from Entra ID's by more than a few minutes.",
        "Synchronise the clock (NTP); the assertion is signed with the local time.",
    ),
    "AADSTS700021": ErrorAdvice(
        "The certificate assertion was issued for another application id than the client id "
        "of the request.",
        "Use the same application (client) id in O365_CLIENT_ID as the app registration that "
        "holds the certificate.",
    ),
    "AADSTS700023": ErrorAdvice(
        "The certificate assertion names another token endpoint (audience) than the one it was "
        "sent to.",
        "Check the tenant id, the cloud (O365_CLOUD) and the login host (O365_LOGIN_BASE_URL); "
        "the assertion must be made for the tenant's own token endpoint.",
    ),
    "AADSTS50027": ErrorAdvice(
        "Entra ID could not read the certificate assertion (not a JWT, or no certificate "
        "thumbprint in its header).",
        "Configure the certificate credential with its private key (PEM) and SHA-1 thumbprint.",
    ),
    "AADSTS90011": ErrorAdvice(
        "The client assertion type is not the JWT bearer type Entra ID expects.",
        "Report this as a client bug.",
    ),
    "AADSTS7000216": ErrorAdvice(
        "The token request carried two client credentials (a secret and a certificate "
        "assertion) or none.",
        "Configure exactly one credential: a client secret or a certificate.",
    ),
}

_UNKNOWN = ErrorAdvice(
    "The API answered with an error this client does not know.",
    "See the message; retry later or report it.",
)


def advice_for(code: str | None) -> ErrorAdvice:
    """The explanation and fix for `code`, or a generic one."""
    return ADVICE.get(code or "", _UNKNOWN)


class ManagementApiError(PipelineError):
    """An error from the Management Activity API or its token service, explained."""

    def __init__(
        self,
        *,
        code: str | None,
        http_status: int | None,
        api_message: str,
        explanation: str | None = None,
        fix: str | None = None,
    ) -> None:
        advice = advice_for(code)
        self.code = code
        self.http_status = http_status
        self.api_message = api_message
        self.explanation = explanation or advice.explanation
        self.fix = fix or advice.fix
        super().__init__(self._render())

    def _render(self) -> str:
        status = f"HTTP {self.http_status}, " if self.http_status else ""
        code = self.code or "no code"
        return (
            f"{self.explanation} ({status}{code}: {self.api_message.strip()[:300]}) Fix: {self.fix}"
        )


class AuthenticationError(ManagementApiError):
    """The token endpoint refused to issue a token."""


class PermissionDeniedError(ManagementApiError):
    """The token lacks a required permission (AF10001) or was refused (401)."""


class SubscriptionMissingError(ManagementApiError):
    """No enabled subscription for the content type (AF20022/AF20023)."""


class RetentionWindowError(ManagementApiError):
    """A window outside what the API can list (older than 7 days, or otherwise invalid)."""


class ContentExpiredError(ManagementApiError):
    """The blob is past its contentExpiration (AF20051): never retried, counted as loss."""


class ClockSkewError(RetentionWindowError):
    """The window is not listable by the API's clock, and the local clock disagrees with it."""


class ContentNotFoundError(ManagementApiError):
    """The blob does not exist or its id is invalid (AF20050/AF20052)."""


class ThrottledError(ManagementApiError):
    """Still throttled (429 / AF429) after every retry."""

    retriable = True


class TransientApiError(ManagementApiError):
    """Server errors or connection failures that outlasted every retry."""

    retriable = True


class UnreachableHostError(TransientApiError):
    """A host (the login host or the API host) did not answer, after every retry."""

    @classmethod
    def for_host(cls, origin: str, *, setting: str, failure: str) -> UnreachableHostError:
        """The error for `origin`, naming the setting that chose it."""
        return cls(
            code=None,
            http_status=None,
            api_message=f"{failure} talking to {origin}",
            explanation=f"Cannot reach {origin.removeprefix('https://')}.",
            fix=f"Check {setting} (or O365_CLOUD), the network and any proxy, then retry.",
        )


class PaginationLoopError(ManagementApiError):
    """The API handed out a next-page URI it had already given in this listing."""

    retriable = True  # a later listing of the same window starts afresh


class DeadlineExceededError(TransientApiError):
    """A request or a whole window outlasted its deadline (a trickled body, endless retries)."""

    @classmethod
    def for_limit(cls, what: str, seconds: float, setting: str) -> DeadlineExceededError:
        """The error for `what` taking longer than `seconds`, naming the setting."""
        return cls(
            code=None,
            http_status=None,
            api_message=f"{what} took longer than {seconds:g} s",
            explanation=f"Gave up on {what}: it outlasted its deadline of {seconds:g} s "
            "(a host that answers too slowly, or keeps asking to wait); nothing incomplete "
            "was kept.",
            fix=f"Retry later; if the host is just slow, raise {setting}.",
        )


class PageLimitError(ManagementApiError):
    """A listing went on for more pages than any window needs."""

    retriable = True  # a later listing of the same window starts afresh


class UntrustedUriError(ManagementApiError):
    """An API-provided URI points outside the configured API host; the token is not sent."""


class MalformedContentError(ManagementApiError):
    """A blob's body is not a JSON array of records."""


class MalformedListingError(ManagementApiError):
    """A listing page that is not a JSON array of content items; nothing of it is used."""

    retriable = True  # a later listing of the same window starts afresh


class TenantConfigurationError(ManagementApiError):
    """The tenant id is unknown, malformed, misconfigured, or has auditing off."""


_CLASS_BY_CODE: dict[str, type[ManagementApiError]] = {
    "AF10001": PermissionDeniedError,
    "HTTP401": PermissionDeniedError,
    "AF20022": SubscriptionMissingError,
    "AF20023": SubscriptionMissingError,
    "AF20030": RetentionWindowError,
    "AF20055": RetentionWindowError,
    "AF20051": ContentExpiredError,
    "AF20050": ContentNotFoundError,
    "AF20052": ContentNotFoundError,
    "AF20010": TenantConfigurationError,
    "AF20011": TenantConfigurationError,
    "AF20012": TenantConfigurationError,
    "AF20013": TenantConfigurationError,
    "AUDIT_OFF": TenantConfigurationError,
    "AF429": ThrottledError,
    "AF50000": TransientApiError,
    "AF50005": TransientApiError,
    "AF50006": TransientApiError,
}


def error_for(code: str | None, http_status: int | None, api_message: str) -> ManagementApiError:
    """The typed exception for an API answer."""
    cls = _CLASS_BY_CODE.get(code or "", ManagementApiError)
    if code is None and http_status is not None and http_status >= 500:
        cls = TransientApiError
    return cls(code=code, http_status=http_status, api_message=api_message)
