"""One pooled HTTPS session to the API, one retry policy, one host guard.

- Every request carries `PublisherIdentifier` (the quota it counts against) and verifies TLS
  against the configured CA bundle.
- Retriable: HTTP 429, any status with an AF429 body (Microsoft documents it on 403), 5xx,
  AF50000/AF50005/AF50006, connection errors and timeouts. `Retry-After` is honoured in full
  (such throttles are bounded by the total wait, not the attempt count); without it, capped
  exponential backoff with jitter.
- A 401 is answered once by dropping the cached token and fetching a new one.
- Only URLs on the configured API scheme/host/port are requested: a contentUri or NextPageUri
  pointing elsewhere is refused before the token could be sent.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ContentDecodingError
from urllib3.exceptions import NewConnectionError

from o365_pipeline.api.auth import MsalBearerAuth
from o365_pipeline.api.errors import (
    ManagementApiError,
    TransientApiError,
    UnreachableHostError,
    UntrustedUriError,
    error_for,
)
from o365_pipeline.api.rate_limit import SharedRateLimiter
from o365_pipeline.api.settings import ClientSettings
from o365_pipeline.api.trust import origin_of, refusal
from o365_pipeline.config import ConfigurationError

RETRIABLE_CODES = {"AF429", "AF50000", "AF50005", "AF50006"}
BODY_CHUNK_BYTES = 1 << 20
USER_AGENT = "o365-pipeline/0.1 (+https://github.com/o365-pipeline)"


@dataclass
class RequestStats:
    """Counters a run reports: requests sent, retries, throttled answers, seconds waited."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    seconds_waited: float = 0.0
    token_renewals: int = 0
    seconds_rate_limited: float = 0.0


class ApiTransport:
    """Sends API requests with retries; raises typed errors for final failures."""

    def __init__(
        self,
        settings: ClientSettings,
        session: requests.Session,
        auth: MsalBearerAuth,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._session = session
        self._auth = auth
        self._sleep = sleep
        self._lock = threading.Lock()
        self.stats = RequestStats()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=settings.max_concurrent_fetches + 2)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        trusted = origin_of(settings.api_base)
        if trusted is None:
            raise ConfigurationError(
                f"O365_API_BASE_URL: {settings.api_base!r} is not a plain https URL "
                "(no userinfo, backslash or spaces): set it to e.g. https://manage.office.com"
            )
        self._trusted = trusted
        self._limiter = (
            SharedRateLimiter(
                settings.rate_limit_folder,
                f"{settings.tenant_id}|{settings.publisher}",
                per_minute=settings.rate_limit_per_minute,
                burst=settings.rate_limit_burst,
                sleep=sleep,
            )
            if settings.rate_limit_per_minute and settings.rate_limit_folder
            else None
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        body_to: Path | None = None,
    ) -> requests.Response:
        """Send with retries; return the 2xx response or raise the typed error.

        With `body_to`, the body is streamed into that file (never held in memory), and a body
        cut short (connection reset, fewer bytes than Content-Length) is retried like any
        connection error.
        """
        self.check_trusted(url)
        params = self._with_publisher(url, params)
        policy = self._settings.retry
        renewed = False
        waited = 0.0
        attempt = 0  # failures so far; a throttle that says how long to wait is not one
        allowed = policy.max_attempts
        while True:
            attempt += 1
            try:
                response = self._send(method, url, params, json_body, stream=body_to is not None)
                if 200 <= response.status_code < 300 and body_to is not None:
                    _save_body(response, body_to)
            except (ChunkedEncodingError, ContentDecodingError) as error:
                failure = TransientApiError(
                    code=None,
                    http_status=None,
                    api_message=f"{error} from {_origin(url)}",
                    explanation="The body of an answer was cut short or could not be decoded.",
                    fix="Retry later; nothing incomplete was kept.",
                )
                wait = _backoff(attempt, policy.initial_backoff_seconds, policy.max_backoff_seconds)
            except (requests.ConnectionError, requests.Timeout) as error:
                failure = self._unreachable(error, url)
                if _never_connected(error):
                    allowed = min(allowed, policy.unreachable_attempts)
                wait = _backoff(attempt, policy.initial_backoff_seconds, policy.max_backoff_seconds)
            else:
                if response.is_redirect or 300 <= response.status_code < 400:
                    response.close()
                    raise UntrustedUriError(
                        code=None,
                        http_status=response.status_code,
                        api_message=f"redirect to {response.headers.get('Location', '')[:120]!r}",
                        explanation="The API answered with a redirect; the Activity API never "
                        "redirects, and content is landed only from the API host itself.",
                        fix="Check O365_API_BASE_URL (or O365_CLOUD) and any proxy in between.",
                    )
                if response.ok:
                    return response
                if response.status_code == 401 and not renewed:
                    renewed = True
                    attempt -= 1
                    self._auth.forget_token()
                    self._count(token_renewals=1)
                    continue
                failure = classify(response)
                if not _retriable(response, failure):
                    raise failure
                asked = retry_after_seconds(response)
                if failure.code == "AF429" or response.status_code == 429:
                    self._count(throttled=1)
                    if asked is not None:
                        # The service said when to come back: honour it in full, bounded
                        # only by the total wait, not by the attempt count.
                        attempt -= 1
                wait = (
                    asked
                    if asked is not None
                    else _backoff(
                        attempt, policy.initial_backoff_seconds, policy.max_backoff_seconds
                    )
                )
            if attempt >= allowed or waited + wait > policy.max_total_wait_seconds:
                raise failure
            self._count(retries=1, seconds_waited=wait)
            waited += wait
            self._sleep(wait)

    def _unreachable(self, error: Exception, url: str) -> UnreachableHostError:
        """Name the host that failed: the token request (login host) runs inside the API
        request's auth hook, so its failure surfaces here too, with its own URL.
        """
        request = getattr(error, "request", None)
        origin = _origin(getattr(request, "url", None) or url)
        setting = (
            "O365_API_BASE_URL"
            if origin == _origin(self._settings.api_base)
            else "O365_LOGIN_BASE_URL"
        )
        return UnreachableHostError.for_host(origin, setting=setting, failure=type(error).__name__)

    def check_trusted(self, url: str) -> None:
        """Refuse any URL outside the configured API origin (the token must not leave it),
        as the parser that connects reads it (`api.trust`).
        """
        reason = refusal(url, self._trusted)
        if reason is not None:
            raise UntrustedUriError(
                code=None,
                http_status=None,
                api_message=f"refused {url[:120]!r}: {reason}",
                explanation="The API returned a URI outside the configured API host; following "
                "it would send the bearer token elsewhere.",
                fix=f"Only {self._trusted} is trusted. If the API host changed, set "
                "the cloud (O365_CLOUD) or O365_API_BASE_URL accordingly.",
            )

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: object,
        *,
        stream: bool = False,
    ) -> requests.Response:
        if self._limiter is not None:
            before = self._limiter.seconds_waited
            self._limiter.acquire()
            self._count(seconds_rate_limited=self._limiter.seconds_waited - before)
        self._count(requests=1)
        return self._session.request(
            method,
            url,
            params=params,
            json=json_body,
            stream=stream,
            auth=self._auth,
            timeout=self._settings.timeout_seconds,
            allow_redirects=False,
            verify=self._settings.verify,
        )

    def _with_publisher(self, url: str, params: Mapping[str, str] | None) -> dict[str, str]:
        merged = dict(params or {})
        names = {name.lower() for name, _ in parse_qsl(urlsplit(url).query)}
        names |= {name.lower() for name in merged}
        if "publisheridentifier" not in names:
            merged["PublisherIdentifier"] = self._settings.publisher
        return merged

    def _count(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)


def _save_body(response: requests.Response, path: Path) -> None:
    """Stream the body to `path` in chunks; a short body raises ChunkedEncodingError."""
    expected = response.headers.get("Content-Length")
    written = 0
    with response, open(path, "wb") as handle:
        for chunk in response.iter_content(chunk_size=BODY_CHUNK_BYTES):
            handle.write(chunk)
            written += len(chunk)
    if (
        expected is not None
        and "Content-Encoding" not in response.headers
        and written != int(expected)
    ):
        raise ChunkedEncodingError(f"body ended after {written} of {expected} bytes")


def classify(response: requests.Response) -> ManagementApiError:
    """The typed error for a non-2xx API answer."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", ""))
        message = str(body["error"].get("message", ""))
        if not code.startswith("AF") and "does not exist" in f"{code} {message}":
            return error_for("AUDIT_OFF", status, "Tenant … does not exist (DataServiceException)")
        return error_for(code or None, status, message)
    if status == 401:
        text = body.get("Message", "") if isinstance(body, dict) else ""
        return error_for("HTTP401", status, text or "Authorization has been denied")
    if status == 429:
        return error_for("AF429", status, "Too many requests")
    return error_for(None, status, (response.text or response.reason or "")[:200])


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds asked for by `Retry-After` (delta-seconds or an HTTP date), if present."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _retriable(response: requests.Response, failure: ManagementApiError) -> bool:
    return (
        response.status_code == 429
        or response.status_code >= 500
        or (failure.code or "") in RETRIABLE_CODES
    )


def _backoff(attempt: int, initial: float, cap: float) -> float:
    return min(cap, initial * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


def _never_connected(error: Exception) -> bool:
    """Whether the connection itself failed (refused, unknown host, connect timeout), as
    opposed to an answer cut off or delayed by a live host.
    """
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0] if error.args else None, "reason", None)
    return isinstance(reason, NewConnectionError)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
