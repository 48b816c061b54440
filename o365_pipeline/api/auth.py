"""Bearer tokens from Entra ID through msal (client credentials), as a `requests` auth object.

One msal application per (tenant, client, cloud) for the life of the process: msal caches the
token in it and renews it 5 minutes before expiry. When the API still answers 401 (a token the
service expired early), the cached token is dropped and a new one is fetched once.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time

import msal
import requests

from o365_pipeline.api.errors import ADVICE, AuthenticationError, advice_for
from o365_pipeline.api.settings import ClientSettings


class VerifyingSession(requests.Session):
    """A session that always verifies TLS against the configured CA bundle.

    `requests` lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `Session.verify` for any request
    that does not pass `verify=` itself (msal's requests don't), so it is forced here.
    """

    def __init__(self, verify: str | bool) -> None:
        super().__init__()
        self._forced_verify = verify
        self.verify = verify

    def request(self, method, url, *args, **kwargs):  # noqa: D102 - requests.Session.request
        kwargs["verify"] = self._forced_verify
        return super().request(method, url, *args, **kwargs)


class MsalBearerAuth(requests.auth.AuthBase):
    """Adds `Authorization: Bearer …` from msal's client-credentials flow."""

    def __init__(
        self, settings: ClientSettings, http_client: requests.Session, scope: str | None = None
    ) -> None:
        self._settings = settings
        # The Management API's scope of the tenant's cloud, unless another resource is asked
        # for (Microsoft Graph's, for service communications), with the same app credentials.
        self._scope = scope or settings.cloud_hosts.scope
        self._http_client = http_client
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()
        # Requests of one client start at once (every window and content type of a run): one
        # asks Entra for the token while the others wait, instead of each asking; then all
        # reuse it until shortly before it expires (msal's own cache lookup, per request,
        # cost more CPU than the request's TLS).
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_good_until = 0.0

    def __repr__(self) -> str:
        return f"MsalBearerAuth(tenant={self._settings.tenant_id})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the bearer header on an outgoing request."""
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request

    def access_token(self) -> str:
        """A valid token (msal's cache, or a new one)."""
        application = self._application()
        with self._token_lock:
            if self._token is not None and time.monotonic() < self._token_good_until:
                return self._token
            result = application.acquire_token_for_client(scopes=[self._scope])
            if "access_token" not in result:
                raise _authentication_error(result)
            lifetime = float(result.get("expires_in") or 0)
            # Renewed a little early (a tenth of its life, at most five minutes), so a token
            # never expires between being taken here and reaching the API.
            self._token_good_until = time.monotonic() + lifetime - min(300.0, lifetime / 10)
            self._token = result["access_token"]
            return self._token

    def granted_roles(self) -> tuple[str, ...]:
        """The application roles (permissions) the current token carries, read from its
        payload. The token is not verified here (the API does that); this only tells a user
        which consented permission is missing, e.g. ActivityFeed.ReadDlp.
        """
        token = self.access_token()
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return ()
        roles = claims.get("roles", ()) if isinstance(claims, dict) else ()
        return tuple(str(role) for role in roles) if isinstance(roles, list) else ()

    def _discovery_error(self) -> AuthenticationError:
        """Why msal could not read the tenant's OpenID configuration: Entra's own answer
        (an unknown tenant is AADSTS90002) when there is one, else the network failure.
        """
        settings = self._settings
        url = f"{settings.login_base}/{settings.tenant_id}/v2.0/.well-known/openid-configuration"
        try:
            body = self._http_client.get(url, timeout=settings.timeout_seconds).json()
        except (requests.RequestException, ValueError) as error:
            return AuthenticationError(
                code=None,
                http_status=None,
                api_message=f"cannot reach the token service at {settings.login_base}",
                explanation=f"The tenant's OpenID configuration could not be read "
                f"({type(error).__name__}).",
                fix="Check network and TLS access to the login host (O365_CA_BUNDLE for a "
                "private CA) and the cloud setting (O365_CLOUD).",
            )
        if isinstance(body, dict) and "error" in body:
            return _authentication_error(body)
        return AuthenticationError(
            code=None,
            http_status=None,
            api_message=f"unusable OpenID configuration at {settings.login_base}",
            explanation="msal could not use the tenant's OpenID configuration.",
            fix="Check the login host (O365_LOGIN_BASE_URL / O365_CLOUD).",
        )

    def forget_token(self) -> None:
        """Drop cached access tokens, so the next request fetches a fresh one."""
        with self._token_lock:
            self._token, self._token_good_until = None, 0.0
        if self._app is None:
            return
        cache = self._app.token_cache
        for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(token)

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                settings = self._settings
                try:
                    self._app = msal.ConfidentialClientApplication(
                        settings.client_id,
                        client_credential=settings.credential.for_msal(),
                        authority=f"{settings.login_base}/{settings.tenant_id}",
                        instance_discovery=False,
                        http_client=self._http_client,
                    )
                except ValueError:
                    raise self._discovery_error() from None
            return self._app


def _authentication_error(result: dict) -> AuthenticationError:
    codes = (
        result.get("error_codes")
        or re.findall(r"AADSTS(\d+)", str(result.get("error_description", "")))[:1]
    )
    code = f"AADSTS{codes[0]}" if codes else None
    description = str(result.get("error_description", "")).split(" Trace ID:")[0]
    advice = advice_for(code)
    return AuthenticationError(
        code=code or str(result.get("error", "token_error")),
        http_status=None,
        api_message=f"{result.get('error', 'error')}: {description}",
        explanation=advice.explanation if code in ADVICE else "Entra ID refused to issue a token.",
        fix=advice.fix if code in ADVICE else "Check the tenant id, client id and secret.",
    )
