"""One pooled HTTPS session to the API, one retry policy, one host guard.

- Every request carries `PublisherIdentifier` (the quota it counts against) and verifies TLS
  against the configured CA bundle.
- Retriable: HTTP 429, any status with an AF429 body (Microsoft documents it on 403), 5xx,
  AF50000/AF50005/AF50006, connection errors and timeouts. A positive `Retry-After` is
  honoured in full (such throttles are bounded by the total wait, not the attempt count);
  `Retry-After: 0`, a date already past, or none: capped exponential backoff with jitter,
  counted as an attempt.
- Every wait is bounded: one deadline per attempt (connect to last body byte, so trickled
  headers or a trickled body end too), the total of retry waits per request, and the
  window's deadline that the client passes down. Every retry and wait is logged (`logging`,
  never a secret) and counted.
- A 401 is answered once by dropping the cached token and fetching a new one.
- Only URLs on the configured API scheme/host/port are requested: a contentUri or NextPageUri
  pointing elsewhere is refused before the token could be sent.
"""

from __future__ import annotations

import email.utils
import logging
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
from urllib3.exceptions import DecodeError, NewConnectionError, ProtocolError, ReadTimeoutError

from o365_pipeline.api.auth import MsalBearerAuth
from o365_pipeline.api.errors import (
    ContentNotFoundError,
    DeadlineExceededError,
    MalformedContentError,
    MalformedListingError,
    ManagementApiError,
    TransientApiError,
    UnreachableHostError,
    UntrustedUriError,
    error_for,
)
from o365_pipeline.api.rate_limit import request_budget_for
from o365_pipeline.api.settings import ClientSettings
from o365_pipeline.api.trust import origin_of, refusal
from o365_pipeline.config import ConfigurationError
from o365_pipeline.errors import PipelineError

RETRIABLE_CODES = {"AF429", "AF50000", "AF50005", "AF50006"}
BODY_CHUNK_BYTES = 1 << 20
# An answer that is not a content blob (listing page, subscriptions) is read into memory up to
# this size; an error answer is classified from its first bytes.
MAX_ANSWER_BYTES = 64 << 20
ERROR_BODY_BYTES = 64 << 10
USER_AGENT = "o365-pipeline/0.1 (+https://github.com/o365-pipeline)"

log = logging.getLogger(__name__)


@dataclass
class RequestStats:
    """Counters a run reports: requests sent, retries, throttled answers, seconds waited."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    seconds_waited: float = 0.0
    token_renewals: int = 0
    seconds_rate_limited: float = 0.0

    def since(self, earlier: RequestStats) -> RequestStats:
        """What was counted after `earlier` (a `copy()` taken before a window's work)."""
        return RequestStats(
            **{name: getattr(self, name) - getattr(earlier, name) for name in _STAT_FIELDS}
        )

    def copy(self) -> RequestStats:
        """A snapshot of the counters."""
        return RequestStats(**{name: getattr(self, name) for name in _STAT_FIELDS})


_STAT_FIELDS = tuple(RequestStats.__dataclass_fields__)


class ApiTransport:
    """Sends API requests with retries; raises typed errors for final failures."""

    def __init__(
        self,
        settings: ClientSettings,
        session: requests.Session,
        auth: MsalBearerAuth,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        publisher_parameter: bool = True,
        base_setting: str = "O365_API_BASE_URL",
    ) -> None:
        # `publisher_parameter` and `base_setting`: the same transport serves Microsoft Graph
        # (built on settings whose api_base is the Graph origin), which has no
        # PublisherIdentifier and is configured by another variable.
        self._publisher_parameter = publisher_parameter
        self._base_setting = base_setting
        self._settings = settings
        self._monotonic = monotonic
        self._session = session
        self._auth = auth
        self._sleep = sleep
        self._lock = threading.Lock()
        self.stats = RequestStats()
        # More requests at once than pooled connections would open (and TLS-handshake) a new
        # connection for each one over the pool's size and throw it away afterwards.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=settings.max_connections)
        self._connections = threading.BoundedSemaphore(settings.max_connections)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        trusted = origin_of(settings.api_base)
        if trusted is None:
            raise ConfigurationError(
                f"{base_setting}: {settings.api_base!r} is not a plain https URL "
                "(no userinfo, backslash or spaces): set it to e.g. https://manage.office.com"
            )
        self._trusted = trusted
        self._limiter = request_budget_for(settings, sleep)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        body_to: Path | None = None,
        deadline: float | None = None,
        absent_retries: int = 0,
        accept: Callable[[requests.Response], None] | None = None,
    ) -> requests.Response:
        """Send with retries; return the 2xx response (body read) or raise the typed error.

        With `body_to`, the body is streamed into that file (never held in memory), and a body
        cut short (connection reset, fewer bytes than Content-Length) is retried like any
        connection error. Each attempt must finish within the request deadline, body included;
        `deadline` (a `time.monotonic()` instant: the window's) bounds every attempt and wait.
        `absent_retries`: how often a "does not exist" answer is asked again (listed blobs).
        `accept` checks a 2xx body (raising MalformedContentError or MalformedListingError);
        a body it refuses is asked for again under the same policy.
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
            self._check_window(deadline)
            attempt_ends = self._monotonic() + policy.request_deadline_seconds
            if deadline is not None:
                attempt_ends = min(attempt_ends, deadline)
            try:
                with self._connections:
                    response = self._send(method, url, params, json_body, attempt_ends)
                    if 200 <= response.status_code < 300:
                        self._read_body(response, body_to, attempt_ends)
                if 200 <= response.status_code < 300 and accept is not None:
                    accept(response)
            except (MalformedContentError, MalformedListingError) as error:
                # A whole, well-framed body that still is not what was asked for (cut where
                # the framing could not tell): asked for again like any damaged transfer.
                failure = error
                wait = _backoff(attempt, policy.initial_backoff_seconds, policy.max_backoff_seconds)
            except _TooSlow:
                self._check_window(deadline)
                failure = DeadlineExceededError.for_limit(
                    f"one answer from {_origin(url)}",
                    policy.request_deadline_seconds,
                    "O365_REQUEST_DEADLINE_SECONDS",
                )
                wait = _backoff(attempt, policy.initial_backoff_seconds, policy.max_backoff_seconds)
            except _CUT_BODY as error:
                failure = TransientApiError(
                    code=None,
                    http_status=None,
                    api_message=f"{type(error).__name__} from {_origin(url)}",
                    explanation="The body of an answer was cut short or could not be decoded.",
                    fix="Retry later; nothing incomplete was kept.",
                )
                wait = _backoff(attempt, policy.initial_backoff_seconds, policy.max_backoff_seconds)
            except (requests.ConnectionError, requests.Timeout, ReadTimeoutError) as error:
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
                self._read_error_body(response, attempt_ends)
                if response.status_code == 401 and not renewed:
                    renewed = True
                    attempt -= 1
                    self._auth.forget_token()
                    self._count(token_renewals=1)
                    log.info("token refused by %s; renewing it once", _origin(url))
                    continue
                failure = classify(response)
                absent = isinstance(failure, ContentNotFoundError) and absent_retries > 0
                if absent:
                    # Listed, yet not there: the service's stores catch up with its listing
                    # within minutes, so a listed blob is asked for again; one that stays
                    # missing fails its window by name (never skipped).
                    absent_retries -= 1
                elif not _retriable(response, failure):
                    raise failure
                asked = None if absent else retry_after_seconds(response)
                if failure.code == "AF429" or response.status_code == 429:
                    self._count(throttled=1)
                    if asked:
                        # The service said when to come back: honour it in full, bounded by
                        # the total wait and the deadline, not by the attempt count. "Come back
                        # now" (0, or a date already past) is an attempt like any other.
                        attempt -= 1
                wait = (
                    asked
                    if asked
                    else _backoff(
                        attempt, policy.initial_backoff_seconds, policy.max_backoff_seconds
                    )
                )
            if attempt >= allowed or waited + wait > policy.max_total_wait_seconds:
                log.warning("giving up on %s %s: %s", method, _shown(url), _first_words(failure))
                raise failure
            if deadline is not None and self._monotonic() + wait > deadline:
                raise self._window_deadline()
            log.warning(
                "retrying %s %s in %.1f s (failure %d of at most %d): %s",
                method,
                _shown(url),
                wait,
                attempt,
                allowed,
                _first_words(failure),
            )
            self._count(retries=1, seconds_waited=wait)
            waited += wait
            self._sleep(wait)

    def _read_body(self, response: requests.Response, path: Path | None, ends: float) -> None:
        """Read the whole body by `ends` (monotonic), into `path` or into the response."""
        if path is not None:
            with response, open(path, "wb") as handle:
                received = _drain(response, handle.write, ends, self._monotonic)
        else:
            chunks: list[bytes] = []
            try:
                received = self._read_into(chunks, response, ends, MAX_ANSWER_BYTES)
            except _Oversized:
                raise ManagementApiError(
                    code=None,
                    http_status=response.status_code,
                    api_message=f"answer from {_origin(response.url)} over "
                    f"{MAX_ANSWER_BYTES >> 20} MB",
                    explanation="An API answer (not a content blob) was larger than any "
                    "listing or subscription answer can be; it was not read.",
                    fix="Check O365_API_BASE_URL and any proxy in between.",
                ) from None
            response._content = b"".join(chunks)  # what `.content`/`.json()` read from now on
        _check_length(response, received)

    def _read_error_body(self, response: requests.Response, ends: float) -> None:
        """Read an error answer's (small) body for classification; a slow, huge or broken one
        is cut off, since only its first bytes matter.
        """
        chunks: list[bytes] = []
        try:
            self._read_into(chunks, response, ends, ERROR_BODY_BYTES)
        except (_Oversized, _TooSlow, ProtocolError, DecodeError, ReadTimeoutError, OSError):
            pass
        response._content = b"".join(chunks)[:ERROR_BODY_BYTES]

    def _read_into(
        self, chunks: list[bytes], response: requests.Response, ends: float, limit: int
    ) -> int:
        """Append the body to `chunks` by `ends`; raise `_Oversized` past `limit` bytes (what
        was read so far stays in `chunks`). Returns the raw bytes received.
        """
        held = 0

        def keep(chunk: bytes) -> None:
            nonlocal held
            chunks.append(chunk)
            held += len(chunk)
            if held > limit:
                raise _Oversized

        with response:
            return _drain(response, keep, ends, self._monotonic)

    def _check_window(self, deadline: float | None) -> None:
        if deadline is not None and self._monotonic() >= deadline:
            raise self._window_deadline()

    def _window_deadline(self) -> DeadlineExceededError:
        return DeadlineExceededError.for_limit(
            "the window's requests",
            self._settings.retry.window_deadline_seconds,
            "O365_WINDOW_DEADLINE_SECONDS",
        )

    def _unreachable(self, error: Exception, url: str) -> UnreachableHostError:
        """Name the host that failed: the token request (login host) runs inside the API
        request's auth hook, so its failure surfaces here too, with its own URL.
        """
        request = getattr(error, "request", None)
        origin = _origin(getattr(request, "url", None) or url)
        setting = (
            self._base_setting
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
                f"the cloud (O365_CLOUD) or {self._base_setting} accordingly.",
            )

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: object,
        ends: float,
    ) -> requests.Response:
        """One attempt, up to the status line and headers, by `ends` (monotonic); the body is
        left unread (streamed) so that its reading is bounded too.

        The socket's timeouts bound each read, not their sum: a host sending its headers a byte
        at a time would hold the attempt for as long as it likes. So the request runs on a
        sender thread and the caller waits for it only until `ends`; an answer that comes after
        that is closed unread when it comes.
        """
        if self._limiter is not None:
            waited = self._limiter.acquire()
            if waited:
                self._count(seconds_rate_limited=waited)
                log.debug("waited %.2f s for the shared request budget", waited)
        self._count(requests=1)
        answer = _Answer()
        sender = threading.Thread(
            target=answer.take,
            args=(
                lambda: self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    stream=True,
                    auth=self._auth,
                    timeout=self._settings.timeout_seconds,
                    allow_redirects=False,
                    verify=self._settings.verify,
                ),
            ),
            name="api-send",
            daemon=True,  # one abandoned to a trickling host never holds the process open
        )
        sender.start()
        return answer.wait(max(0.0, ends - self._monotonic()))

    def _with_publisher(self, url: str, params: Mapping[str, str] | None) -> dict[str, str]:
        merged = dict(params or {})
        if not self._publisher_parameter:
            return merged
        names = {name.lower() for name, _ in parse_qsl(urlsplit(url).query)}
        names |= {name.lower() for name in merged}
        if "publisheridentifier" not in names:
            merged["PublisherIdentifier"] = self._settings.publisher
        return merged

    def _count(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)


_CUT_BODY = (ChunkedEncodingError, ContentDecodingError, ProtocolError, DecodeError)


class _TooSlow(PipelineError):
    """The attempt's deadline passed while its body was still arriving."""


class _Oversized(PipelineError):
    """More bytes than an answer of that kind may have."""


def _drain(
    response: requests.Response,
    sink: Callable[[bytes], None],
    ends: float,
    monotonic: Callable[[], float],
) -> int:
    """Pass the (decoded) body to `sink` as it arrives; return the raw bytes received.

    `read1` returns after at most one read from the socket, so a body trickled a byte at a time
    is checked against `ends` at every byte: the attempt ends within one read timeout of it.
    """
    raw = response.raw
    while True:
        if monotonic() > ends:
            raise _TooSlow
        chunk = raw.read1(BODY_CHUNK_BYTES, decode_content=True)
        if not chunk:
            return raw.tell()
        sink(chunk)


class _Answer:
    """The response (or error) of one send, handed from its sender thread to the caller; one
    that comes after the caller gave up is closed unread.
    """

    def __init__(self) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = False
        self._response: requests.Response | None = None
        self._error: BaseException | None = None

    def take(self, send: Callable[[], requests.Response]) -> None:
        try:
            response = send()
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            self._error = error
        else:
            with self._lock:
                if self._abandoned:
                    response.close()
                    return
                self._response = response
        self._done.set()

    def wait(self, seconds: float) -> requests.Response:
        if not self._done.wait(seconds):
            with self._lock:
                self._abandoned = True
                if self._response is None:
                    raise _TooSlow
        if self._error is not None:
            raise self._error
        return self._response


def _check_length(response: requests.Response, received: int) -> None:
    """A body shorter than its Content-Length is cut (urllib3 checks this too)."""
    expected = response.headers.get("Content-Length")
    if expected is not None and expected.isdigit() and received != int(expected):
        raise ChunkedEncodingError(f"body ended after {received} of {expected} bytes")


def _shown(url: str) -> str:
    """A URL as logged: origin and path (queries carry nothing secret, but are long)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:160]


def _first_words(error: Exception) -> str:
    return str(error)[:200]


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
