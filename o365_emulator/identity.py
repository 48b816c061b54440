"""The Entra ID side: OpenID discovery, the v2 and v1 client-credentials token endpoints, and
the check of bearer tokens on API calls.

Errors use Entra's JSON shape and statuses ("Microsoft Entra authentication and authorization
error codes", https://learn.microsoft.com/entra/identity-platform/reference-error-codes): wrong
secret 401 invalid_client AADSTS7000215; unknown tenant 400 AADSTS90002; unknown app 400
AADSTS700016; scope not `/.default` 400 AADSTS1002012; another cloud's resource 400
AADSTS650052.

Certificate credentials (client assertions) are verified by `client_assertions.py`.

Admin consent: a tenant named in `consent_required` gets tokens without roles until an
administrator accepts the consent page of `admin_consent.py`; the other tenants play one whose
consent was granted long ago. (A simplification: Entra answers AADSTS700016 while the app has no
service principal in the tenant at all, and issues tokens without a `roles` claim once it has one
but no granted application permission; the emulator plays the second case throughout, so
`doctor` names the missing permissions.)

Every tenant lives in one national cloud (commercial unless configured). The emulator serves all
clouds on one host, so the tenant stands for the cloud: a token is issued only for the tenant's
cloud resource, and the API accepts only tokens whose `aud` is that resource ("Get started with
Office 365 Management APIs": a token for one cloud's resource is not valid on another cloud's
host).
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

import jwt

from o365_emulator.client_assertions import ClientAssertionVerifier
from o365_emulator.clock import EmulatorClock
from o365_emulator.errors import entra_error
from o365_emulator.responses import Reply, json_reply

# The Management API resource of each cloud ("Get started with Office 365 Management APIs" and
# the Office 365 Management Activity API reference), named like the client's
# `o365_pipeline.api.clouds.CLOUDS`. Written out here rather than imported: the emulator plays
# the service, so a wrong host in the client's table cannot hide behind the same wrong host here.
CLOUD_RESOURCES: dict[str, str] = {
    "commercial": "https://manage.office.com",
    "gcc": "https://manage-gcc.office.com",
    "gcc_high": "https://manage.office365.us",
    "dod": "https://manage.protection.apps.mil",
    "china": "https://manage.office365.cn",
}
DEFAULT_CLOUD = "commercial"
RESOURCES = tuple(CLOUD_RESOURCES.values())
ALL_ROLES = ("ActivityFeed.Read", "ActivityFeed.ReadDlp", "ServiceHealth.Read")
# Microsoft Graph's resource in each cloud; GCC keeps the worldwide Graph ("Microsoft Graph
# national cloud deployments", https://learn.microsoft.com/graph/deployments). Its application
# permissions are Graph's own, so a Graph token carries only those and a Management API token
# none of them.
GRAPH_RESOURCES: dict[str, str] = {
    "commercial": "https://graph.microsoft.com",
    "gcc": "https://graph.microsoft.com",
    "gcc_high": "https://graph.microsoft.us",
    "dod": "https://dod-graph.microsoft.us",
    "china": "https://microsoftgraph.chinacloudapi.cn",
}
GRAPH_ROLES = ("ServiceHealth.Read.All",)
DEFAULT_ROLES = ALL_ROLES + GRAPH_ROLES
_ISSUED_RESOURCES = (*RESOURCES, *GRAPH_RESOURCES.values())


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
        granted_roles: tuple[str, ...] = DEFAULT_ROLES,
        tenant_roles: tuple[tuple[str, tuple[str, ...]], ...] = (),
        tenant_domains: dict[str, str] | None = None,
        tenant_clouds: tuple[tuple[str, str], ...] = (),
        client_certificates: tuple[str, ...] = (),
        consent_required: tuple[str, ...] = (),
    ) -> None:
        self.base_url = base_url
        # Entra accepts the tenant GUID or one of its verified domains in the path.
        self._tenant_ids = {tenant.lower(): tenant.lower() for tenant in tenants}
        for domain, tenant in (tenant_domains or {}).items():
            if tenant.lower() in self._tenant_ids:
                self._tenant_ids[domain.lower()] = tenant.lower()
        self._resources = _tenant_resources(tenants, tenant_clouds)
        self._roles = granted_roles
        # Per-tenant consent (a tenant whose admin granted fewer permissions).
        self._tenant_roles = {tenant.lower(): tuple(roles) for tenant, roles in tenant_roles}
        # Tenants whose administrator has not granted admin consent yet: their tokens carry no
        # roles until Accept on the consent page (`admin_consent.py`, `grant_admin_consent`).
        self._unconsented = _served_subset(consent_required, tenants, "consent_required")
        self._consent_lock = threading.Lock()
        self._client_id = client_id
        self._client_secret = client_secret
        self._lifetime = token_lifetime_seconds
        self._clock = clock
        # HS256 with a key that lives and dies with this emulator: tokens are opaque to clients
        # and no other process can forge or reuse them.
        self._signing_key = secrets.token_bytes(32)
        self._service_principal = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{client_id}"))
        self._assertions = ClientAssertionVerifier(
            base_url=base_url,
            certificates=client_certificates,
            clock=clock,
            error=self._error,
            tenant_names=lambda tenant_id: [
                name for name, tenant in self._tenant_ids.items() if tenant == tenant_id
            ],
        )

    def openid_configuration(self, tenant: str, origin: str | None = None) -> Reply:
        """The discovery document msal reads (token and authorization endpoints, https), its
        URLs on `origin`, the host the client asked (`origin.py`).
        """
        if tenant.lower() not in self._tenant_ids:
            return self._error(90002, tenant=tenant)
        origin = origin or self.base_url
        root = f"{origin}/{tenant}"
        return json_reply(
            200,
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                # Entra names the tenant by GUID here even when asked by domain.
                "issuer": f"{origin}/{self._tenant_ids[tenant.lower()]}/v2.0",
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "response_types_supported": ["code", "id_token", "token"],
                "tenant_region_scope": "WW",
            },
        )

    def instance_discovery(self, query: dict[str, str], origin: str | None = None) -> Reply:
        """`/common/discovery/instance`: where the tenant's discovery document lives (on
        `origin`, the host the client asked).
        """
        endpoint = query.get("authorization_endpoint", "")
        parts = endpoint.split("/")
        tenant = parts[3] if len(parts) > 3 else "common"
        return json_reply(
            200,
            {
                "tenant_discovery_endpoint": (
                    f"{origin or self.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [],
            },
        )

    def token(self, tenant: str, body: bytes, *, version: int, origin: str | None = None) -> Reply:
        """Client credentials: v2 `/{tenant}/oauth2/v2.0/token` (scope), v1 `/oauth2/token`
        (resource). Checks run in Entra's order: grant, tenant, app, credential, scope. A client
        assertion may name the token endpoint on `origin`, the host the client asked.
        """
        form = {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}
        client_id = form.get("client_id", "")
        tenant_id = self._tenant_ids.get(tenant.lower())
        if form.get("grant_type") != "client_credentials":
            return self._error(70003, grant=form.get("grant_type", ""))
        if tenant_id is None:
            return self._error(90002, tenant=tenant)
        if not client_id:
            return self._error(900144, name="client_id")
        if client_id.lower() != self._client_id.lower():
            return self._error(700016, client_id=client_id, tenant=tenant)
        if "client_assertion" in form or "client_assertion_type" in form:
            if "client_secret" in form:
                return self._error(7000216)
            refusal = self._assertions.check(form, client_id, tenant_id, origin=origin)
            if refusal is not None:
                return refusal
            authentication = "2"  # appidacr of a certificate
        elif secrets.compare_digest(
            form.get("client_secret", "").encode(), self._client_secret.encode()
        ):
            authentication = "1"  # appidacr of a secret
        else:
            return self._error(7000215, client_id=client_id)
        if version == 1:
            resource = form.get("resource", "").rstrip("/")
            if resource not in _ISSUED_RESOURCES:
                return self._error(500011, resource=resource or "(none)", tenant=tenant)
        else:
            resource = _resource_of_scope(form.get("scope", ""))
            if resource is None:
                return self._error(1002012, scope=form.get("scope", ""))
        if resource not in (self.resource_for(tenant_id), self.graph_resource_for(tenant_id)):
            # Another cloud's Management API: that service is not provisioned in this tenant.
            return self._error(650052, resource=resource, tenant=tenant)
        return self._issue(tenant_id, resource, version, authentication)

    @property
    def client_id(self) -> str:
        """The application (client) id of the one app registration the emulator knows."""
        return self._client_id

    def tenant_id_of(self, tenant: str) -> str | None:
        """The GUID of a served tenant named by GUID or verified domain, else None."""
        return self._tenant_ids.get(tenant.lower())

    def roles_of(self, tenant_id: str) -> tuple[str, ...]:
        """The app roles a token for `tenant_id` carries: none before admin consent."""
        with self._consent_lock:
            if tenant_id in self._unconsented:
                return ()
            return self._tenant_roles.get(tenant_id, self._roles)

    def grant_admin_consent(self, tenant_id: str) -> tuple[str, ...]:
        """An administrator of `tenant_id` accepted the app's permissions: tokens issued from
        now on carry every role the app registration asks for (those issued before keep the
        roles they had, as Entra's do until they expire).
        """
        with self._consent_lock:
            self._unconsented.discard(tenant_id)
            self._tenant_roles[tenant_id] = self._roles
        return self._roles

    def resource_for(self, tenant: str) -> str:
        """The token resource of the tenant's cloud (by GUID or verified domain). A tenant the
        emulator does not serve counts as commercial, like a request to the default API host.
        """
        tenant_id = self._tenant_ids.get(tenant.lower(), tenant.lower())
        return self._resources.get(tenant_id, CLOUD_RESOURCES[DEFAULT_CLOUD])

    def graph_resource_for(self, tenant: str) -> str:
        """Microsoft Graph's resource in the tenant's cloud."""
        management = self.resource_for(tenant)
        cloud = next(name for name, value in CLOUD_RESOURCES.items() if value == management)
        return GRAPH_RESOURCES[cloud]

    def check_graph(self, authorization: str | None) -> TokenClaims | None:
        """The claims of a valid, unexpired bearer token for Microsoft Graph of its tenant's
        cloud, else None. Graph URLs carry no tenant: the token's `tid` names it.
        """
        scheme, _, token = (authorization or "").partition(" ")
        try:
            unverified = jwt.decode(token.strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        tenant = str(unverified.get("tid", ""))
        if scheme.lower() != "bearer" or tenant not in self._resources:
            return None
        return self._verified(token, self.graph_resource_for(tenant))

    def check(self, authorization: str | None, *, tenant: str) -> TokenClaims | None:
        """The claims of a valid, unexpired bearer token for the resource of `tenant`'s cloud,
        else None. `tenant` is the one in the request URL: it picks the cloud whose API host the
        request stands for, so a token of another cloud is refused like a forged one.
        """
        # The scheme is case-insensitive (RFC 7235 section 2.1), and the live API takes
        # `bearer …` as well as `Bearer …`.
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self._verified(token, self.resource_for(tenant))

    def _verified(self, token: str, audience: str) -> TokenClaims | None:
        """The claims of `token` when this emulator signed it for `audience` and it has not
        expired by the emulated clock, else None.
        """
        try:
            claims = jwt.decode(
                token.strip(),
                self._signing_key,
                algorithms=["HS256"],
                audience=audience,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return None
        if claims.get("exp", 0) <= self._clock.now().timestamp():
            return None
        return TokenClaims(tenant_id=claims["tid"], roles=tuple(claims.get("roles", ())))

    def _issue(self, tenant: str, resource: str, version: int, authentication: str) -> Reply:
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
                "roles": _roles_for(resource, self.roles_of(tenant)),
                "appid": self._client_id,
                "appidacr": authentication,
                "oid": self._service_principal,
                "sub": self._service_principal,
                "idp": f"https://sts.windows.net/{tenant}/",
                "uti": secrets.token_urlsafe(16),  # unique per token, as in Entra tokens
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

    def _error(self, number: int, **details: str) -> Reply:
        return entra_error(number, now=self._clock.now(), error_base_url=self.base_url, **details)


def _tenant_resources(
    tenants: tuple[str, ...], tenant_clouds: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    """Each tenant's cloud resource (lowercase tenant id). A cloud name the emulator does not know,
    or a tenant it does not serve, is a configuration mistake: refused at start, not ignored.
    """
    served = {tenant.lower() for tenant in tenants}
    resources = dict.fromkeys(served, CLOUD_RESOURCES[DEFAULT_CLOUD])
    for tenant, cloud in tenant_clouds:
        name = cloud.strip().lower().replace("-", "_")
        if name not in CLOUD_RESOURCES:
            raise ValueError(f"Unknown cloud {cloud!r}: use one of {', '.join(CLOUD_RESOURCES)}.")
        if tenant.lower() not in served:
            raise ValueError(f"tenant_clouds names {tenant!r}, which is not in tenants.")
        resources[tenant.lower()] = CLOUD_RESOURCES[name]
    return resources


def _served_subset(named: tuple[str, ...], tenants: tuple[str, ...], option: str) -> set[str]:
    """`named` as lowercase ids, each one a served tenant (else a configuration mistake,
    refused at start).
    """
    served = {tenant.lower() for tenant in tenants}
    chosen = {tenant.lower() for tenant in named}
    if unknown := sorted(chosen - served):
        raise ValueError(f"{option} names {', '.join(unknown)}, not in tenants.")
    return chosen


def _roles_for(resource: str, granted: tuple[str, ...]) -> list[str]:
    """The granted roles that belong to `resource`'s API: Graph's for a Graph token, the
    Management API's for the others.
    """
    for_graph = resource in GRAPH_RESOURCES.values()
    return [role for role in granted if (role in GRAPH_ROLES) == for_graph]


def _resource_of_scope(scope: str) -> str | None:
    """The resource of a client-credentials scope: exactly one `{resource}/.default` (OIDC
    scopes aside), else None (AADSTS1002012).
    """
    scopes = [item for item in scope.split() if item not in ("openid", "profile", "offline_access")]
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        return None
    resource = scopes[0].removesuffix("/.default")
    return resource if resource in _ISSUED_RESOURCES else None
