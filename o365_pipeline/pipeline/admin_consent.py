"""Admin consent through the Microsoft identity platform's v2.0 admin-consent endpoint: the URL
an administrator of the customer's tenant opens, and the reading of the answer Entra sends to
the redirect URI. Plain Python: the CLI's listener and `consent-complete` hand it the answer.

The rules, from "Admin consent on the Microsoft identity platform"
(https://learn.microsoft.com/entra/identity-platform/v2-admin-consent):
- `GET https://{login host}/{tenant}/v2.0/adminconsent?client_id=…&scope=…&redirect_uri=…&state=…`.
  Application permissions can only be asked for with the static scope `{resource}/.default`,
  which asks for every permission of the app registration (here the Management API resource of
  the tenant's cloud, `o365_pipeline.api.clouds`).
- Success: `admin_consent=True&tenant={GUID}&scope=…&state=…` on the redirect URI.
- Failure: `error` and `error_description`, *next to* the success parameters (the documented
  error answer carries `admin_consent=True` and `tenant` as well), so `error` is read first. An
  administrator who declines gets `error=access_denied` (live: `error_subcode=cancel`, AADSTS65004).
- `state` comes back as sent: comparing it with ours (in constant time) is what ties an answer
  to this request and not to a forged link (RFC 6749 section 10.12).
- `tenant` names the tenant that granted, which must be the one registered.
Redirect URIs must be https except on localhost ("Redirect URI (reply URL) restrictions",
https://learn.microsoft.com/entra/identity-platform/reply-url).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from o365_pipeline.api.settings import ClientSettings
from o365_pipeline.errors import PipelineError

DECLINED = "access_denied"
STATE_BYTES = 32  # 256 bits of randomness: not guessable by a page that forges an answer
_DESCRIPTION_LIMIT = 300


class AdminConsentError(PipelineError, RuntimeError):
    """Admin consent did not complete; the message says why and what to do next."""


class ConsentDeclinedError(AdminConsentError):
    """The administrator declined (`error=access_denied`)."""


class ConsentFailedError(AdminConsentError):
    """Entra answered with another `error` (e.g. consent blocked by a tenant policy)."""


class ConsentAnswerError(AdminConsentError):
    """Not an answer to this request: no or another `state`, or not an admin-consent answer."""


class ConsentTenantMismatchError(AdminConsentError):
    """Consent was granted in another tenant than the one registered."""


class ConsentTimeoutError(AdminConsentError):
    """No answer arrived in time (the administrator may still consent later)."""

    retriable = True


class ConsentRedirectError(AdminConsentError, ValueError):
    """A redirect URI Entra would refuse (not absolute, or plain http off localhost)."""


@dataclass(frozen=True)
class ConsentRequest:
    """One admin-consent request for a registered customer: where it goes and what its answer
    must carry. `state` is kept out of `repr` (it is what authenticates the answer).
    """

    customer: str
    tenant_id: str
    client_id: str
    login_base_url: str
    scope: str
    redirect_uri: str
    state: str = field(repr=False)

    @property
    def url(self) -> str:
        """The admin-consent URL an administrator of the tenant opens."""
        query = urlencode(
            {
                "client_id": self.client_id,
                "scope": self.scope,
                "redirect_uri": self.redirect_uri,
                "state": self.state,
            },
            quote_via=quote,
        )
        return f"{self.login_base_url.rstrip('/')}/{self.tenant_id}/v2.0/adminconsent?{query}"

    @property
    def retry_hint(self) -> str:
        """The command that asks again, for the end of a failure message."""
        return f"`o365-pipeline onboard {self.customer} {self.tenant_id}`"


@dataclass(frozen=True)
class ConsentGranted:
    """Entra's success answer: the tenant that granted and the scopes it names."""

    tenant_id: str
    scopes: tuple[str, ...]


def consent_request_for(
    customer: str, settings: ClientSettings, redirect_uri: str, state: str | None = None
) -> ConsentRequest:
    """The request for the tenant, app, login host and cloud resource of `settings` (the same
    decision its API calls follow), with a fresh random `state` unless one is given.

    Raises:
        ConsentRedirectError: `redirect_uri` is one Entra would refuse.

    """
    return ConsentRequest(
        customer=customer,
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        login_base_url=settings.login_base,
        scope=settings.cloud_hosts.scope,
        redirect_uri=validate_redirect_uri(redirect_uri),
        state=state or secrets.token_urlsafe(STATE_BYTES),
    )


def validate_redirect_uri(uri: str) -> str:
    """`uri` if Entra accepts it as a redirect URI: absolute, https, or http on localhost."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise ConsentRedirectError(
            f"Invalid redirect URI {uri!r}: give an absolute https URL without a fragment "
            "(e.g. https://connector.example.com/o365/consent), registered on the app."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConsentRedirectError(
            f"Invalid redirect URI {uri!r}: Entra accepts plain http only for localhost; use https."
        )
    return uri.strip()


def read_consent_answer(query: str, request: ConsentRequest) -> ConsentGranted:
    """Check the query string of the redirect against `request`: state first, then `error`,
    then the success parameters.

    Raises:
        ConsentAnswerError: no state, another state, repeated or missing parameters.
        ConsentDeclinedError: the administrator declined.
        ConsentFailedError: any other error Entra reported.
        ConsentTenantMismatchError: granted in another tenant.

    """
    answer = _single_values(query, request)
    _check_state(answer.get("state"), request)
    if "error" in answer:
        raise _refusal(answer, request)
    if answer.get("admin_consent", "").lower() != "true":
        raise ConsentAnswerError(
            f"The answer for {request.customer} is not an admin-consent answer (no "
            f"admin_consent=True and no error); nothing was changed. Ask again with "
            f"{request.retry_hint}."
        )
    tenant = answer.get("tenant", "").strip().lower()
    if tenant != request.tenant_id:
        raise ConsentTenantMismatchError(
            f"Admin consent was granted in tenant {_shown(tenant or '(none)')}, not in "
            f"{request.tenant_id} registered for {request.customer}: refused, nothing is read "
            "from that tenant. The administrator must sign in to the customer's own tenant; "
            f"ask again with {request.retry_hint}."
        )
    return ConsentGranted(tenant_id=tenant, scopes=tuple(answer.get("scope", "").split()))


def read_redirect_url(url: str, request: ConsentRequest) -> ConsentGranted:
    """`read_consent_answer` for a whole redirect URL pasted back (`consent-complete`): it must
    be an answer at the request's redirect URI (Entra adds `/` to a URI without a path).
    """
    given, expected = urlsplit(url.strip()), urlsplit(request.redirect_uri)
    if _endpoint(given) != _endpoint(expected):
        raise ConsentAnswerError(
            f"{_shown(url)} is not an answer at the redirect URI of {request.customer}'s "
            f"consent request ({request.redirect_uri}): paste the whole address the browser "
            "was sent to after the consent page."
        )
    return read_consent_answer(given.query, request)


def _single_values(query: str, request: ConsentRequest) -> dict[str, str]:
    """The answer's parameters; a repeated one makes it ambiguous, so it is refused."""
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        parsed = {}
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated or not parsed:
        problem = f"repeats {', '.join(repeated)}" if repeated else "is not a query string"
        raise ConsentAnswerError(
            f"The answer for {request.customer} {problem}: refused, nothing was changed. "
            f"Ask again with {request.retry_hint}."
        )
    return {name: values[0] for name, values in parsed.items()}


def _check_state(state: str | None, request: ConsentRequest) -> None:
    if state is None:
        problem = "carries no state"
    elif not hmac.compare_digest(state.encode(), request.state.encode()):
        problem = "carries another state than the consent request sent"
    else:
        return
    raise ConsentAnswerError(
        f"The answer for {request.customer} {problem}: it is not the answer to this request "
        "(an older browser tab, or a forged link), so it was refused and nothing was changed. "
        f"Ask again with {request.retry_hint}."
    )


def _refusal(answer: dict[str, str], request: ConsentRequest) -> AdminConsentError:
    error = _shown(answer["error"], limit=64)
    description = _shown(answer.get("error_description", ""))
    said = f"{error}: {description}" if description else error
    pending = f"{request.customer} stays registered as consent pending and gets no partitions"
    if answer["error"] == DECLINED:
        return ConsentDeclinedError(
            f"Admin consent was declined for {request.customer} (tenant {request.tenant_id}; "
            f"{said}). {pending}; run {request.retry_hint} again when an administrator is "
            "ready to accept."
        )
    return ConsentFailedError(
        f"Admin consent for {request.customer} (tenant {request.tenant_id}) failed: {said}. "
        f"{pending}; fix what Entra names (see the AADSTS code), then run {request.retry_hint}."
    )


def _shown(text: str, limit: int = _DESCRIPTION_LIMIT) -> str:
    """Entra's text as one short printable line: its first line (trace and correlation ids
    follow on the next), control characters dropped, cut to `limit`.
    """
    first = text.replace("\r", "\n").split("\n", 1)[0]
    printable = "".join(character for character in first if character.isprintable()).strip()
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


def _endpoint(parts) -> tuple[str, str, str]:
    return (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
