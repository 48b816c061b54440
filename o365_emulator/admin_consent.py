"""The admin-consent page of the emulated Entra ID: `GET /{tenant}/v2.0/adminconsent` (and the
older `/{tenant}/adminconsent`) shows the permissions the app registration asks for, with Accept
and Cancel; the form posts back to the same path.

The answers follow "Admin consent on the Microsoft identity platform"
(https://learn.microsoft.com/entra/identity-platform/v2-admin-consent):
- Accept: 302 to `redirect_uri` with `admin_consent=True`, `tenant` (the GUID), `state` as sent
  and, on v2.0, the `scope` granted.
- Cancel: 302 with `error`, `error_description` and the success parameters too (the documented
  error answer carries `admin_consent=True` and `tenant` as well, so a client must read `error`
  first); a declining administrator gets `error=access_denied`, `error_subcode=cancel` and
  AADSTS65004 ("User declined to consent to access the app.", as seen live).
- A request that cannot be answered safely is shown as an error page and never redirected:
  unknown tenant AADSTS90002, missing parameter AADSTS900144, unknown app AADSTS700016,
  `redirect_uri` not an absolute URI AADSTS90102, not registered AADSTS50011, a scope of no
  resource of the tenant's cloud AADSTS70011 ("Microsoft Entra authentication and authorization
  error codes", https://learn.microsoft.com/entra/identity-platform/reference-error-codes). Entra
  shows such errors on its page with HTTP 200.
- Loopback redirect URIs (`localhost`, 127.0.0.1, ::1) are accepted on any port, as Entra does for
  localhost ("Redirect URI (reply URL) restrictions",
  https://learn.microsoft.com/entra/identity-platform/reply-url; RFC 8252 section 7.3); any other
  must be registered (`EmulatorConfig.redirect_uris`, `--redirect-uri`).

Accept grants the app's roles in that tenant (`IdentityService.grant_admin_consent`): tokens
issued afterwards carry them.
"""

from __future__ import annotations

import html
import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from o365_emulator.clock import EmulatorClock
from o365_emulator.errors import ENTRA_ERRORS
from o365_emulator.identity import IdentityService
from o365_emulator.responses import Reply

ADMIN_CONSENT_PATH = re.compile(r"^/(?P<tenant>[^/]+)/(?P<v2>v2\.0/)?adminconsent$")
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
# Microsoft Graph of each cloud ("Microsoft Graph national cloud deployments"): a `/.default` of
# Graph asks for the app's Graph permissions (User.Read below).
GRAPH_RESOURCES = frozenset(
    {
        "https://graph.microsoft.com",
        "https://graph.microsoft.us",
        "https://dod-graph.microsoft.us",
        "https://microsoftgraph.chinacloudapi.cn",
    }
)
DECLINED_DESCRIPTION = "AADSTS65004: User declined to consent to access the app."


@dataclass(frozen=True)
class RequestedPermission:
    """One permission of the app registration, as the consent screen names it."""

    api: str
    name: str
    description: str


# Exactly what the app registration requests, in Microsoft's wording on the consent screen
# (the permission descriptions of "Office 365 Management APIs" and of Microsoft Graph).
APP_PERMISSIONS: tuple[RequestedPermission, ...] = (
    RequestedPermission(
        "Office 365 Management APIs",
        "ActivityFeed.Read",
        "Read activity data for your organization",
    ),
    RequestedPermission(
        "Office 365 Management APIs",
        "ServiceHealth.Read",
        "Read service health information for your organization",
    ),
    RequestedPermission(
        "Office 365 Management APIs",
        "ActivityFeed.ReadDlp",
        "Read DLP policy events including detected sensitive data",
    ),
    RequestedPermission("Microsoft Graph", "User.Read", "Sign in and read user profile"),
)

# The page's own AADSTS texts, beside those shared with the token endpoint (`errors.py`).
PAGE_ERRORS: dict[int, str] = {
    50011: "The redirect URI '{redirect_uri}' specified in the request does not match the "
    "redirect URIs configured for the application '{client_id}'. Make sure the redirect URI "
    "sent in the request matches one added to your application in the Azure portal.",
    90102: "'redirect_uri' value must be a valid absolute URI.",
    70011: "The provided value for the input parameter 'scope' is not valid. The scope "
    "'{scope}' is not valid.",
}


@dataclass(frozen=True)
class ConsentAsk:
    """A consent request whose every parameter was checked."""

    tenant_id: str
    client_id: str
    redirect_uri: str
    state: str | None
    scope: str | None


class AdminConsentPage:
    """Answers the admin-consent endpoint for the emulator's app and tenants."""

    def __init__(
        self, identity: IdentityService, clock: EmulatorClock, redirect_uris: tuple[str, ...] = ()
    ) -> None:
        self._identity = identity
        self._clock = clock
        self._redirect_uris = frozenset(redirect_uris)

    def answer(
        self, method: str, path: str, tenant: str, params: Mapping[str, str], *, v2: bool
    ) -> Reply:
        """GET: the page (or an error page); POST: the administrator's decision."""
        ask = self._check(tenant, params, v2=v2)
        if isinstance(ask, Reply):
            return ask
        if method == "GET":
            return _html(200, _consent_page(path, ask))
        decision = params.get("decision", "")
        if decision == "accept":
            self._identity.grant_admin_consent(ask.tenant_id)
            return _redirect(ask, {"admin_consent": "True", "tenant": ask.tenant_id})
        if decision == "cancel":
            return _redirect(
                ask,
                {
                    "error": "access_denied",
                    "error_subcode": "cancel",
                    "error_description": DECLINED_DESCRIPTION,
                    "admin_consent": "True",
                    "tenant": ask.tenant_id,
                },
            )
        return self._error_page(900144, name="decision")

    def _check(self, tenant: str, params: Mapping[str, str], *, v2: bool) -> ConsentAsk | Reply:
        """Entra's order: tenant, app, redirect URI, scope."""
        tenant_id = self._identity.tenant_id_of(tenant)
        if tenant_id is None:
            return self._error_page(90002, tenant=tenant)
        client_id = params.get("client_id", "")
        if not client_id:
            return self._error_page(900144, name="client_id")
        if client_id.lower() != self._identity.client_id.lower():
            return self._error_page(700016, client_id=client_id, tenant=tenant)
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return self._error_page(900144, name="redirect_uri")
        if not _absolute_http_uri(redirect_uri):
            return self._error_page(90102)
        if not (_loopback(redirect_uri) or redirect_uri in self._redirect_uris):
            return self._error_page(50011, redirect_uri=redirect_uri, client_id=client_id)
        scope = params.get("scope") if v2 else None
        if v2 and not scope:
            return self._error_page(900144, name="scope")
        if scope is not None and not self._valid_scope(tenant_id, scope):
            return self._error_page(70011, scope=scope)
        return ConsentAsk(tenant_id, client_id, redirect_uri, params.get("state"), scope)

    def _valid_scope(self, tenant_id: str, scope: str) -> bool:
        """Static scopes only (`{resource}/.default`, what application permissions need), of
        the tenant's cloud's Management API or of Microsoft Graph, and OIDC scopes.
        """
        resources = {self._identity.resource_for(tenant_id), *GRAPH_RESOURCES}
        items = scope.split()
        return bool(items) and all(
            item in OIDC_SCOPES
            or (item.endswith("/.default") and item.removesuffix("/.default") in resources)
            for item in items
        )

    def _error_page(self, number: int, **details: str) -> Reply:
        template = PAGE_ERRORS.get(number) or ENTRA_ERRORS[number].description
        message = f"AADSTS{number}: {template.format(**details)}"
        stamp = self._clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
        body = (
            "<h1>This sign-in request cannot be completed</h1>"
            f'<p id="error-code">{html.escape(message)}</p>'
            f"<p>Request Id: {uuid.uuid4()}<br>Correlation Id: {uuid.uuid4()}<br>"
            f"Timestamp: {stamp}</p>"
        )
        return _html(200, _document("Sign in to your account", body))


def _consent_page(path: str, ask: ConsentAsk) -> str:
    """The permissions grouped by API, then the form whose buttons post the decision."""
    groups: dict[str, list[RequestedPermission]] = {}
    for permission in APP_PERMISSIONS:
        groups.setdefault(permission.api, []).append(permission)
    listing = "".join(
        f"<h2>{html.escape(api)}</h2><ul>"
        + "".join(
            f'<li data-permission="{html.escape(item.name)}">{html.escape(item.description)}</li>'
            for item in permissions
        )
        + "</ul>"
        for api, permissions in groups.items()
    )
    hidden = {"client_id": ask.client_id, "redirect_uri": ask.redirect_uri}
    if ask.state is not None:
        hidden["state"] = ask.state
    if ask.scope is not None:
        hidden["scope"] = ask.scope
    fields = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in hidden.items()
    )
    body = (
        "<h1>Permissions requested</h1>"
        f"<p>App <strong>{html.escape(ask.client_id)}</strong> asks an administrator of "
        f"organization <strong>{html.escape(ask.tenant_id)}</strong> to grant it:</p>"
        f'<section id="permissions">{listing}</section>'
        "<p>Accept grants these permissions for the whole organization, until an "
        "administrator removes them.</p>"
        f'<form method="post" action="{html.escape(path)}">{fields}'
        '<button type="submit" name="decision" value="cancel">Cancel</button> '
        '<button type="submit" name="decision" value="accept">Accept</button>'
        "</form>"
    )
    return _document("Permissions requested", body)


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main>{body}</main></body></html>"
    )


def _html(status: int, document: str) -> Reply:
    return Reply(
        status,
        document.encode(),
        {
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
        },
    )


def _redirect(ask: ConsentAsk, answer: dict[str, str]) -> Reply:
    """302 to the redirect URI with `answer`, `state` as sent and the scope granted (v2.0)."""
    if ask.state is not None:
        answer["state"] = ask.state
    if ask.scope is not None:
        answer["scope"] = ask.scope
    separator = "&" if urlsplit(ask.redirect_uri).query else "?"
    location = f"{ask.redirect_uri}{separator}{urlencode(answer)}"
    return Reply(302, b"", {"Location": location, "Cache-Control": "no-store"})


def _absolute_http_uri(uri: str) -> bool:
    """An absolute http(s) URI with a host, printable ASCII only (it goes into a header)."""
    if not uri.isascii() or any(ord(character) <= 0x20 for character in uri):
        return False
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.fragment


def _loopback(uri: str) -> bool:
    host = urlsplit(uri).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
