"""The Entra ID side: OpenID discovery, the v2 and v1 client-credentials token endpoints, and
the check of bearer tokens on API calls.

Errors use Entra's JSON shape and statuses (api-spec-detail §2.5): wrong secret 401
invalid_client AADSTS7000215; unknown tenant 400 AADSTS90002; unknown app 400 AADSTS700016;
scope not `/.default` 400 AADSTS1002012.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

import jwt

from o365_pipeline.emulator.clock import EmulatorClock
from o365_pipeline.emulator.responses import Reply, json_reply

RESOURCES = (
    "https://manage.office.com",
    "https://manage-gcc.office.com",
    "https://manage.office365.us",
    "https://manage.protection.apps.mil",
    "https://manage.office365.cn",
)
ALL_ROLES = ("ActivityFeed.Read", "ActivityFeed.ReadDlp", "ServiceHealth.Read")


@dataclass(frozen=True)
class TokenClaims:
    """What the API needs from a valid token."""

    tenant_id: str
    roles: tuple[str, ...]


class IdentityService:
    """Issues and checks tokens for the configured app and tenants."""

    def __init__(
        self,
        *,
        base_url: str,
        tenants: tuple[str, ...],
        client_id: str,
        client_secret: str,
        token_lifetime_seconds: int,
        clock: EmulatorClock,
    ) -> None:
        self.base_url = base_url
        self._tenants = {tenant.lower() for tenant in tenants}
        self._client_id = client_id
        self._client_secret = client_secret
        self._lifetime = token_lifetime_seconds
        self._clock = clock
        self._signing_key = secrets.token_bytes(32)

    def openid_configuration(self, tenant: str) -> Reply:
        """The discovery document msal reads (token and authorization endpoints)."""
        root = f"{self.base_url}/{tenant}"
        return json_reply(
            200,
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "issuer": f"{self.base_url}/{tenant}/v2.0",
                "jwks_uri": f"{self.base_url}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "response_types_supported": ["code", "id_token", "token"],
                "tenant_region_scope": "WW",
            },
        )

    def instance_discovery(self, query: dict[str, str]) -> Reply:
        """`/common/discovery/instance`: where the tenant's discovery document lives."""
        endpoint = query.get("authorization_endpoint", "")
        parts = endpoint.split("/")
        tenant = parts[3] if len(parts) > 3 else "common"
        return json_reply(
            200,
            {
                "tenant_discovery_endpoint": (
                    f"{self.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [],
            },
        )

    def token(self, tenant: str, body: bytes, *, version: int) -> Reply:
        """Client credentials: v2 `/{tenant}/oauth2/v2.0/token` (scope), v1 `/oauth2/token`."""
        form = {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._entra_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if tenant.lower() not in self._tenants:
            return self._entra_error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have "
                "the correct tenant ID and are signing into the correct cloud.",
            )
        if form.get("client_id") != self._client_id:
            return self._entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was "
                f"not found in the directory '{tenant}'.",
            )
        if not secrets.compare_digest(form.get("client_secret", ""), self._client_secret):
            return self._entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being "
                "sent in the request is the client secret value, not the "
                "client secret ID.",
            )
        resource = self._resource(form, version)
        if resource is None:
            return self._entra_error(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client "
                "credential flows must have a scope value with /.default.",
            )
        return self._issue(tenant.lower(), resource, version)

    def check(self, authorization: str | None) -> TokenClaims | None:
        """The claims of a valid, unexpired bearer token, else None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        try:
            claims = jwt.decode(
                authorization[7:],
                self._signing_key,
                algorithms=["HS256"],
                audience=list(RESOURCES),
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return None
        if claims.get("exp", 0) <= self._clock.now().timestamp():
            return None
        return TokenClaims(tenant_id=claims["tid"], roles=tuple(claims.get("roles", ())))

    def _resource(self, form: dict[str, str], version: int) -> str | None:
        if version == 1:
            resource = form.get("resource", "").rstrip("/")
            return resource if resource in RESOURCES else None
        scope = form.get("scope", "").split()
        scope = [item for item in scope if item not in ("openid", "profile", "offline_access")]
        if len(scope) != 1 or not scope[0].endswith("/.default"):
            return None
        resource = scope[0][: -len("/.default")]
        return resource if resource in RESOURCES else None

    def _issue(self, tenant: str, resource: str, version: int) -> Reply:
        now = int(self._clock.now().timestamp())
        expires = now + self._lifetime
        token = jwt.encode(
            {
                "aud": resource,
                "iss": f"https://sts.windows.net/{tenant}/",
                "iat": now,
                "nbf": now,
                "exp": expires,
                "ver": "1.0",
                "tid": tenant,
                "roles": list(ALL_ROLES),
                "appid": self._client_id,
                "appidacr": "1",
                "oid": str(uuid.uuid4()),
                "idp": f"https://sts.windows.net/{tenant}/",
            },
            self._signing_key,
            algorithm="HS256",
        )
        if version == 1:
            return json_reply(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": str(self._lifetime),
                    "ext_expires_in": "0",
                    "expires_on": str(expires),
                    "not_before": str(now),
                    "resource": resource,
                    "access_token": token,
                },
            )
        return json_reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self._lifetime,
                "ext_expires_in": self._lifetime,
                "access_token": token,
            },
        )

    def _entra_error(self, status: int, error: str, code: int, text: str) -> Reply:
        stamp = self._clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        return json_reply(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: "
                f"{correlation} Timestamp: {stamp}",
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"{self.base_url}/error?code={code}",
            },
        )
