"""Certificate credentials at the token endpoint: verifying a client assertion as Entra does
("Microsoft identity platform application authentication certificate credentials",
https://learn.microsoft.com/entra/identity-platform/certificate-credentials). The app's
registered certificates are public PEM only, as in an app registration. An assertion must be a
jwt-bearer JWT signed RS256 or PS256 (msal 1.39 sends RS256 + `x5t` for a SHA-1 thumbprint,
PS256 + `x5t#S256` otherwise) by the key of a registered certificate, with iss = sub =
client_id, aud = this tenant's v1 or v2 token endpoint and a time window around now. Failures
answer with Entra's codes: unknown key or bad signature 401 AADSTS700027, iss/sub 700021, aud
700023, time 700024, not a usable JWT 50027.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from o365_emulator.certificates import load_certificates
from o365_emulator.clock import EmulatorClock
from o365_emulator.errors import ASSERTION_KEY_PROBLEMS
from o365_emulator.responses import Reply

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What Entra accepts for certificate assertions: RSA keys, PKCS#1 v1.5 or PSS (msal uses both).
ASSERTION_ALGORITHMS = ("RS256", "PS256")
# Tolerated difference between the client's clock and Entra's for exp/nbf [I: Entra documents
# no figure; 5 minutes is the usual allowance of Microsoft's token validators].
ASSERTION_CLOCK_SKEW = timedelta(minutes=5)
# The JWS header names of a certificate's thumbprint, with the hash each one carries.
THUMBPRINT_HEADERS = (("x5t", hashes.SHA1()), ("x5t#S256", hashes.SHA256()))


class ClientAssertionVerifier:
    """Checks client assertions against the app's registered certificates."""

    def __init__(
        self,
        *,
        base_url: str,
        certificates: tuple[str, ...],
        clock: EmulatorClock,
        error: Callable[..., Reply],
        tenant_names: Callable[[str], list[str]],
    ) -> None:
        self.base_url = base_url
        self._certificates = _certificate_index(certificates)
        self._clock = clock
        self._error = error
        self._tenant_names = tenant_names

    def check(
        self, form: dict[str, str], client_id: str, tenant_id: str, *, origin: str | None = None
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
        return self._check_claims(claims, client_id, tenant_id, origin)

    def _check_claims(
        self, claims: dict, client_id: str, tenant_id: str, origin: str | None
    ) -> Reply | None:
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
        if audience.strip().rstrip("/").lower() not in self._token_endpoints(tenant_id, origin):
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

    def _token_endpoints(self, tenant_id: str, origin: str | None) -> set[str]:
        """Every spelling of this tenant's token endpoints an assertion may name as `aud`: v1
        and v2, the tenant by GUID or by any verified domain, on the bound address or on the
        host the client asked (the one the discovery document named; lower case, no trailing
        slash).
        """
        names = self._tenant_names(tenant_id)
        roots = {self.base_url, origin or self.base_url}
        return {
            f"{root}/{name}/oauth2/{path}".lower()
            for root in roots
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
