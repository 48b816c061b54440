"""The Entra ID side: OpenID discovery, the v2 and v1 client-credentials token endpoints, and
the check of bearer tokens on API calls.

Errors use Entra's JSON shape and statuses (api-spec-detail §2.5): wrong secret 401
invalid_client AADSTS7000215; unknown tenant 400 AADSTS90002; unknown app 400 AADSTS700016;
scope not `/.default` 400 AADSTS1002012; another cloud's resource 400 AADSTS650052.

Certificate credentials (detail §2.3): the app's registered certificates are public PEM only, as
in an app registration. A client assertion must be a jwt-bearer JWT signed RS256 or PS256 (msal
1.39 sends RS256 + `x5t` for a SHA-1 thumbprint, PS256 + `x5t#S256` otherwise) by the key of a
registered certificate, with iss = sub = client_id, aud = this tenant's v1 or v2 token endpoint
and a time window around now. Failures answer with Entra's codes: unknown key or bad signature
401 AADSTS700027, iss/sub 700021, aud 700023, time 700024, not a usable JWT 50027; a request with
both a secret and an assertion is refused (7000216).

Every tenant lives in one national cloud (commercial unless configured). The emulator serves all
clouds on one host, so the tenant stands for the cloud: a token is issued only for the tenant's
cloud resource, and the API accepts only tokens whose `aud` is that resource (§1: a token for one
cloud's resource is not valid on another cloud's host).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from o365_pipeline.emulator.certificates import load_certificates
from o365_pipeline.emulator.clock import EmulatorClock
from o365_pipeline.emulator.errors import ASSERTION_KEY_PROBLEMS, entra_error
from o365_pipeline.emulator.responses import Reply, json_reply

# The Management API resource of each cloud (api-spec-detail §1), named like the client's
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
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What Entra accepts for certificate assertions: RSA keys, PKCS#1 v1.5 or PSS (msal uses both).
ASSERTION_ALGORITHMS = ("RS256", "PS256")
# Tolerated difference between the client's clock and Entra's for exp/nbf [I: Entra documents
# no figure; 5 minutes is the usual allowance of Microsoft's token validators].
ASSERTION_CLOCK_SKEW = timedelta(minutes=5)
# The JWS header names of a certificate's thumbprint, with the hash each one carries.
THUMBPRINT_HEADERS = (("x5t", hashes.SHA1()), ("x5t#S256", hashes.SHA256()))


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
        granted_roles: tuple[str, ...] = ALL_ROLES,
        tenant_roles: tuple[tuple[str, tuple[str, ...]], ...] = (),
        tenant_domains: dict[str, str] | None = None,
        tenant_clouds: tuple[tuple[str, str], ...] = (),
        client_certificates: tuple[str, ...] = (),
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
        self._client_id = client_id
        self._client_secret = client_secret
        self._lifetime = token_lifetime_seconds
        self._clock = clock
        # HS256 with a key that lives and dies with this emulator: tokens are opaque to clients
        # and no other process can forge or reuse them.
        self._signing_key = secrets.token_bytes(32)
        self._service_principal = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{client_id}"))
        self._certificates = _certificate_index(client_certificates)

    def openid_configuration(self, tenant: str) -> Reply:
        """The discovery document msal reads (token and authorization endpoints, https)."""
        if tenant.lower() not in self._tenant_ids:
            return self._error(90002, tenant=tenant)
        root = f"{self.base_url}/{tenant}"
        return json_reply(
            200,
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                # Entra names the tenant by GUID here even when asked by domain.
                "issuer": f"{self.base_url}/{self._tenant_ids[tenant.lower()]}/v2.0",
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
        """Client credentials: v2 `/{tenant}/oauth2/v2.0/token` (scope), v1 `/oauth2/token`
        (resource). Checks run in Entra's order: grant, tenant, app, credential, scope.
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
            refusal = self._check_assertion(form, client_id, tenant_id)
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
            if resource not in RESOURCES:
                return self._error(500011, resource=resource or "(none)", tenant=tenant)
        else:
            resource = _resource_of_scope(form.get("scope", ""))
            if resource is None:
                return self._error(1002012, scope=form.get("scope", ""))
        if resource != self.resource_for(tenant_id):
            # Another cloud's Management API: that service is not provisioned in this tenant.
            return self._error(650052, resource=resource, tenant=tenant)
        return self._issue(tenant_id, resource, version, authentication)

    def resource_for(self, tenant: str) -> str:
        """The token resource of the tenant's cloud (by GUID or verified domain). A tenant the
        emulator does not serve counts as commercial, like a request to the default API host.
        """
        tenant_id = self._tenant_ids.get(tenant.lower(), tenant.lower())
        return self._resources.get(tenant_id, CLOUD_RESOURCES[DEFAULT_CLOUD])

    def check(self, authorization: str | None, *, tenant: str) -> TokenClaims | None:
        """The claims of a valid, unexpired bearer token for the resource of `tenant`'s cloud,
        else None. `tenant` is the one in the request URL: it picks the cloud whose API host the
        request stands for, so a token of another cloud is refused like a forged one.
        """
        if not authorization or not authorization.startswith("Bearer "):
            return None
        try:
            claims = jwt.decode(
                authorization[7:],
                self._signing_key,
                algorithms=["HS256"],
                audience=self.resource_for(tenant),
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
                "roles": list(self._tenant_roles.get(tenant, self._roles)),
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

    def _check_assertion(
        self, form: dict[str, str], client_id: str, tenant_id: str
    ) -> Reply | None:
        """None when the client assertion proves the app, else Entra's refusal. Checked in the
        order a verifier must: form, then the key named in the header, then the signature, and
        only then the claims (unsigned claims prove nothing). The assertion is not single use:
        msal sends the same one for about nine minutes.
        """
        if "client_assertion_type" not in form:
            return self._error(900144, name="client_assertion_type")
        if form["client_assertion_type"] != JWT_BEARER:
            return self._error(90011)
        assertion = form.get("client_assertion", "")
        if not assertion:
            return self._error(900144, name="client_assertion")
        try:
            header = jwt.get_unverified_header(assertion)
            presented = _presented_thumbprints(header)
        except (jwt.PyJWTError, ValueError):
            return self._error(50027, reason="JWT token is invalid or malformed.")
        if not presented:
            return self._error(
                50027,
                reason="Invalid JWT token. No certificate thumbprint specified in token header.",
            )
        # Entra names the key by the hex of the thumbprint it was sent (SHA-1 when there is one).
        shown = presented[0][1].hex().upper()
        certificate = next(
            (self._certificates[key] for key in presented if key in self._certificates), None
        )
        if certificate is None:
            return self._key_error("not_found", shown, client_id)
        if certificate.not_valid_after_utc < self._clock.now():
            return self._key_error("expired", shown, client_id, certificate)
        try:
            claims = jwt.decode(
                assertion,
                certificate.public_key(),
                algorithms=list(ASSERTION_ALGORITHMS),
                # Only the signature here: the claims get Entra's own codes below.
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_iss": False,
                    "verify_jti": False,
                    "verify_nbf": False,
                    "verify_sub": False,
                },
            )
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError, jwt.InvalidKeyError):
            return self._key_error("bad_signature", shown, client_id, certificate)
        except jwt.PyJWTError:
            return self._error(50027, reason="JWT token is invalid or malformed.")
        return self._check_assertion_claims(claims, client_id, tenant_id)

    def _check_assertion_claims(self, claims: dict, client_id: str, tenant_id: str) -> Reply | None:
        """The signed claims: issued by and for this app, to this tenant's token endpoint,
        and valid now (within the clock-skew allowance).
        """
        audience, expires, not_before = claims.get("aud"), claims.get("exp"), claims.get("nbf")
        if (
            not isinstance(audience, str)
            or not _is_time(expires)
            or (not_before is not None and not _is_time(not_before))
        ):
            # A list audience is what panva/openid-client #348 saw refused as malformed.
            return self._error(50027, reason="JWT token is invalid or malformed.")
        if any(
            not isinstance(claims.get(name), str) or claims[name].lower() != client_id.lower()
            for name in ("iss", "sub")
        ):
            return self._error(700021)
        if audience.strip().rstrip("/").lower() not in self._token_endpoints(tenant_id):
            return self._error(700023)
        now = self._clock.now()
        expiry = datetime.fromtimestamp(expires, UTC)
        start = datetime.fromtimestamp(not_before, UTC) if not_before is not None else None
        if now > expiry + ASSERTION_CLOCK_SKEW or (start and now < start - ASSERTION_CLOCK_SKEW):
            window = f"expiry time of assertion {_entra_time(expiry)}"
            if start is not None:
                window = f"assertion valid from {_entra_time(start)}, {window}"
            return self._error(700024, current_time=_entra_time(now), window=window)
        return None

    def _token_endpoints(self, tenant_id: str) -> set[str]:
        """Every spelling of this tenant's token endpoints an assertion may name as `aud`: v1
        and v2, the tenant by GUID or by any verified domain (lower case, no trailing slash).
        """
        names = [name for name, tenant in self._tenant_ids.items() if tenant == tenant_id]
        return {
            f"{self.base_url}/{name}/oauth2/{path}".lower()
            for name in names
            for path in ("token", "v2.0/token")
        }

    def _key_error(
        self,
        problem: str,
        thumbprint: str,
        client_id: str,
        certificate: x509.Certificate | None = None,
    ) -> Reply:
        """AADSTS700027 in the wording of `problem` (errors.ASSERTION_KEY_PROBLEMS). Like
        Entra it shows the client's thumbprint and, for a key it found, that key's validity, so
        a user can tell "wrong certificate" from "right certificate, wrong private key".
        """
        summary, reason = ASSERTION_KEY_PROBLEMS[problem]
        found_key = ""
        if certificate is not None:
            found_key = (
                f", Found key 'Start={certificate.not_valid_before_utc:%m/%d/%Y %H:%M:%S}, "
                f"End={certificate.not_valid_after_utc:%m/%d/%Y %H:%M:%S}'"
            )
        return self._error(
            700027,
            summary=summary,
            reason=reason,
            thumbprint=thumbprint,
            found_key=found_key,
            client_id=client_id,
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


def _resource_of_scope(scope: str) -> str | None:
    """The resource of a client-credentials scope: exactly one `{resource}/.default` (OIDC
    scopes aside), else None (AADSTS1002012).
    """
    scopes = [item for item in scope.split() if item not in ("openid", "profile", "offline_access")]
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        return None
    resource = scopes[0].removesuffix("/.default")
    return resource if resource in RESOURCES else None


def _certificate_index(pems: tuple[str, ...]) -> dict[tuple[str, bytes], x509.Certificate]:
    """The registered certificates by (header name, thumbprint bytes), so an assertion finds
    its key by `x5t` (SHA-1) or `x5t#S256` (SHA-256). A text without a certificate is refused
    at start, like any other configuration mistake.
    """
    index: dict[tuple[str, bytes], x509.Certificate] = {}
    for position, pem in enumerate(pems):
        try:
            certificates = load_certificates(pem)
        except ValueError as error:
            raise ValueError(f"client_certificates[{position}]: {error}") from None
        for certificate in certificates:
            for name, algorithm in THUMBPRINT_HEADERS:
                index[(name, certificate.fingerprint(algorithm))] = certificate
    return index


def _presented_thumbprints(header: dict) -> list[tuple[str, bytes]]:
    """The thumbprints an assertion header names, SHA-1 first. Base64url per RFC 7515, but
    padded or standard base64 is accepted too (ADAL sent `x5t` that way). A value that is not
    base64 makes the token malformed (ValueError).
    """
    presented = []
    for name, _ in THUMBPRINT_HEADERS:
        value = header.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name} is not a string")
        text = value.strip().replace("-", "+").replace("_", "/")
        try:
            presented.append((name, base64.b64decode(text + "=" * (-len(text) % 4), validate=True)))
        except binascii.Error:
            raise ValueError(f"{name} is not base64") from None
    return presented


def _is_time(value: object) -> bool:
    """A JWT NumericDate: int or float seconds (msal sends floats), within datetime's range."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value < 253402300800  # up to 9999-12-31, so fromtimestamp cannot overflow
    )


def _entra_time(moment: datetime) -> str:
    """A time as Entra writes it in AADSTS700024 (seven fractional digits, Z)."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"
