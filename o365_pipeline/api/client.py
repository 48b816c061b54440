"""The Management Activity API client for one tenant: subscriptions, content listings, blobs.

Plain Python (no Dagster). One msal application and one pooled session per client; create
one client per tenant and keep it for the life of the process.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from o365_pipeline.api.auth import MsalBearerAuth, VerifyingSession
from o365_pipeline.api.blob_body import BlobShapeError, check_array_envelope
from o365_pipeline.api.content import ContentBlob, Subscription
from o365_pipeline.api.errors import (
    ClockSkewError,
    MalformedContentError,
    MalformedListingError,
    ManagementApiError,
    RetentionWindowError,
)
from o365_pipeline.api.paging import pages
from o365_pipeline.api.server_clock import ServerClock
from o365_pipeline.api.settings import ClientSettings
from o365_pipeline.api.transport import ApiTransport, RequestStats
from o365_pipeline.api.windows import (
    Window,
    check_retention,
    format_api_time,
    parse_api_time,
    split_window,
)


class ManagementApiClient:
    """Calls the Activity API of one tenant."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.server_clock = ServerClock(clock)
        self._sleep = sleep or time.sleep
        self._monotonic = monotonic
        self._session = VerifyingSession(settings.verify)
        self._session.hooks["response"].append(self.server_clock.observe_response)
        self._auth = MsalBearerAuth(settings, self._session)
        self._transport = ApiTransport(
            settings, self._session, self._auth, sleep=self._sleep, monotonic=monotonic
        )
        self._feed = f"{settings.api_base}/api/v1.0/{settings.tenant_id}/activity/feed"

    def __repr__(self) -> str:
        return (
            f"ManagementApiClient(tenant={self.settings.tenant_id}, api={self.settings.api_base})"
        )

    @property
    def stats(self) -> RequestStats:
        """Requests, retries, throttled answers and seconds waited so far."""
        return self._transport.stats

    def now(self) -> datetime:
        """The API's current time (the local clock corrected by the API's `Date` header)."""
        return self.server_clock.now()

    def granted_roles(self) -> tuple[str, ...]:
        """The permissions (app roles) admin consent granted, as the current token states."""
        return self._auth.granted_roles()

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def start_subscription(self, content_type: str, webhook: dict | None = None) -> Subscription:
        """Start (or keep) the subscription; "already enabled" (AF20024) counts as success.

        `webhook` (`address`, `authId`, `expiration`) is the optional start body: the API
        validates it with a POST to the address before saving it (AF20021 when that fails).
        """
        try:
            response = self._transport.request(
                "POST",
                f"{self._feed}/subscriptions/start",
                params={"contentType": content_type},
                json_body={"webhook": webhook} if webhook else None,
            )
        except ManagementApiError as error:
            if error.code == "AF20024":
                return Subscription(content_type=content_type, status="enabled", webhook=webhook)
            raise
        body = response.json() if response.content else {}
        return Subscription(
            content_type=body.get("contentType", content_type),
            status=body.get("status", "enabled"),
            webhook=body.get("webhook"),
        )

    def stop_subscription(self, content_type: str) -> None:
        """Stop the subscription (any 2xx is success; content from the gap is lost)."""
        self._transport.request(
            "POST", f"{self._feed}/subscriptions/stop", params={"contentType": content_type}
        )

    def list_subscriptions(self) -> list[Subscription]:
        """Every subscription of the tenant with its status."""
        response = self._transport.request("GET", f"{self._feed}/subscriptions/list")
        return [
            Subscription(
                content_type=item["contentType"],
                status=item.get("status", ""),
                webhook=item.get("webhook"),
            )
            for item in response.json()
        ]

    def list_content(
        self, content_type: str, start: datetime, end: datetime
    ) -> Iterator[ContentBlob]:
        """Every blob with start ≤ contentCreated < end, across ≤ 24 h windows and all pages.

        Raises:
            RetentionWindowError: `start` is older than the API's 7-day listing retention
                (raised before any request).

        """
        window = Window(start.astimezone(UTC), end.astimezone(UTC))
        self._check_listable(window)
        deadline = self._window_deadline()
        seen: set[str] = set()
        for piece in split_window(window):
            params = {
                "contentType": content_type,
                "startTime": format_api_time(piece.start),
                "endTime": format_api_time(piece.end),
            }
            try:
                for page in pages(
                    self._transport,
                    f"{self._feed}/subscriptions/content",
                    params,
                    max_pages=self.settings.retry.max_pages_per_window,
                    deadline=deadline,
                    accept=lambda page: _listed_blobs(page, content_type),
                ):
                    self._check_listable(window)  # the first answer may reveal a skewed clock
                    for blob in _listed_blobs(page, content_type):
                        if blob.content_id not in seen:
                            seen.add(blob.content_id)
                            yield blob
            except RetentionWindowError as error:
                raise self._explained_by_skew(error) from None

    def _window_deadline(self) -> float:
        """When a window's requests must be done by (monotonic): listing it, or fetching its
        blobs, each gets the configured window deadline.
        """
        return self._monotonic() + self.settings.retry.window_deadline_seconds

    def _check_listable(self, window: Window) -> None:
        """Refuse, before asking, a window the API would refuse or could only list in part,
        judged by the API's clock; a notable clock skew is named in the error.
        """
        now = self.now()
        try:
            check_retention(window, now)
        except RetentionWindowError as error:
            raise self._explained_by_skew(error) from None
        note = self.server_clock.skew_note()
        if note and window.end > now:
            raise ClockSkewError(
                code=None,
                http_status=None,
                api_message=f"window {window.label} ends after the API's time "
                f"{format_api_time(now)}Z",
                explanation=f"{note} By the API's clock the window {window.label} has not "
                "ended yet, so listing it now would land a partial window as if it were "
                "complete.",
                fix="Synchronise this machine's clock (NTP). The window can be listed once "
                f"the API's clock passes {format_api_time(window.end)}Z.",
            )

    def _explained_by_skew(self, error: RetentionWindowError) -> RetentionWindowError:
        note = self.server_clock.skew_note()
        if not note or isinstance(error, ClockSkewError):
            return error
        return ClockSkewError(
            code=error.code,
            http_status=error.http_status,
            api_message=error.api_message,
            explanation=f"{note} {error.explanation}",
            fix=f"Synchronise this machine's clock (NTP). {error.fix}",
        )

    def fetch_blob(self, blob: ContentBlob) -> list[dict]:
        """The records of one blob.

        Raises:
            MalformedContentError: the body is not a JSON array of objects.
            ContentExpiredError: the blob is past its contentExpiration (AF20051).

        """
        response = self._transport.request("GET", blob.content_uri)
        try:
            records = json.loads(response.content)
        except RecursionError:
            raise _malformed(blob, "the body is nested too deeply to be audit records") from None
        except ValueError as error:
            where = f" at {error.pos}" if isinstance(error, json.JSONDecodeError) else ""
            raise _malformed(blob, f"the body is not valid JSON{where}") from None
        if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
            raise _malformed(blob, "the body is not a JSON array of record objects")
        return records

    def download_blob(
        self,
        blob: ContentBlob,
        path: Path,
        deadline: float | None = None,
        check: Callable[[Path], None] | None = None,
    ) -> None:
        """Stream one blob's body into `path` (memory stays flat whatever the blob's size),
        by `deadline` (monotonic; default: a window deadline of its own).

        The body must be a complete JSON array, and pass `check` (the caller's test of its
        records; it raises ValueError naming the problem): a body that fails either is asked
        for again under the transport's retry policy, like any other bad answer.

        Raises:
            ContentExpiredError: the blob is past its contentExpiration (AF20051).
            DeadlineExceededError: it could not be fetched in time.

        """

        def whole_array(_response: requests.Response) -> None:
            try:
                check_array_envelope(path)
                if check is not None:
                    check(path)
            except (BlobShapeError, ValueError) as error:
                raise _malformed(blob, str(error)) from None

        self._transport.request(
            "GET",
            blob.content_uri,
            body_to=path,
            deadline=deadline if deadline is not None else self._window_deadline(),
            absent_retries=self.settings.retry.missing_blob_attempts - 1,
            accept=whole_array,
        )

    def fetch_blobs(
        self, blobs: Iterable[ContentBlob], max_workers: int | None = None
    ) -> Iterator[tuple[ContentBlob, list[dict] | ManagementApiError]]:
        """Fetch concurrently, yield `(blob, records or error)` in input order, at most
        `max_workers` blobs in flight or waiting (for small windows and tools; the ingest path
        uses `download_blobs`, which keeps bodies on disk).
        """
        yield from _in_order(
            blobs, self._fetch_or_error, max_workers or self.settings.max_concurrent_fetches
        )

    def download_blobs(
        self,
        blobs: Iterable[ContentBlob],
        folder: Path,
        max_workers: int | None = None,
        check: Callable[[Path], None] | None = None,
    ) -> Iterator[tuple[ContentBlob, Path | ManagementApiError]]:
        """Stream blobs concurrently into files under `folder`; yield `(blob, path or error)` in
        input order (each body checked as `download_blob` says).

        Bodies go straight to disk, so memory stays flat whatever the blob sizes; at most
        `max_workers` downloads run or wait to be consumed. The caller owns (and deletes) each
        file it is given.
        """
        deadline = self._window_deadline()

        def download(blob: ContentBlob, index: int) -> Path | ManagementApiError:
            return self.download_blob_or_error(
                blob, folder / f"blob-{index:06d}.json", deadline=deadline, check=check
            )

        yield from _in_order(
            blobs, download, max_workers or self.settings.max_concurrent_fetches, with_index=True
        )

    def download_blob_or_error(
        self,
        blob: ContentBlob,
        path: Path,
        deadline: float | None = None,
        check: Callable[[Path], None] | None = None,
    ) -> Path | ManagementApiError:
        """`path` with the blob's body, or the error that stopped it (no partial file left)."""
        try:
            self.download_blob(blob, path, deadline, check)
        except ManagementApiError as error:
            path.unlink(missing_ok=True)
            return error
        return path

    def _fetch_or_error(self, blob: ContentBlob) -> list[dict] | ManagementApiError:
        try:
            return self.fetch_blob(blob)
        except ManagementApiError as error:
            return error


def _in_order(
    blobs: Iterable[ContentBlob], work: Callable, workers: int, *, with_index: bool = False
) -> Iterator[tuple[ContentBlob, object]]:
    """Run `work` on a bounded sliding window of blobs; yield results in input order."""
    pending: deque[tuple[ContentBlob, Future]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blob-fetch") as pool:
        for index, blob in enumerate(blobs):
            arguments = (blob, index) if with_index else (blob,)
            pending.append((blob, pool.submit(work, *arguments)))
            if len(pending) >= workers:
                done_blob, future = pending.popleft()
                yield done_blob, future.result()
        while pending:
            done_blob, future = pending.popleft()
            yield done_blob, future.result()


def _listed_blobs(page: requests.Response, content_type: str) -> list[ContentBlob]:
    """The content items of one listing page, each checked; one bad item fails the page."""
    try:
        items = json.loads(page.content)
    except (ValueError, RecursionError):
        raise _malformed_listing(page, "the page is not JSON") from None
    if not isinstance(items, list):
        raise _malformed_listing(page, "the page is not a JSON array")
    blobs = []
    for index, item in enumerate(items):
        try:
            blob = ContentBlob(
                content_type=item.get("contentType", content_type),
                content_id=item["contentId"],
                content_uri=item["contentUri"],
                content_created=parse_api_time(item["contentCreated"]),
                content_expiration=parse_api_time(item["contentExpiration"]),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise _malformed_listing(
                page, f"item {index} is not a content item ({type(error).__name__}: {error})"
            ) from None
        if blob.content_type != content_type:
            raise _malformed_listing(page, f"item {index} is of {blob.content_type[:60]!r}")
        if not isinstance(blob.content_id, str) or not blob.content_id:
            raise _malformed_listing(page, f"item {index} has no contentId")
        if not isinstance(blob.content_uri, str):
            raise _malformed_listing(page, f"item {index} has no contentUri")
        blobs.append(blob)
    return blobs


def _malformed_listing(page: requests.Response, why: str) -> MalformedListingError:
    return MalformedListingError(
        code=None,
        http_status=page.status_code,
        api_message=why[:200],
        explanation=f"A listing page from {urlsplit(page.url).path[:120]} could not be read: "
        f"{why[:200]}. Nothing of the listing was kept.",
        fix="Re-run the listing; if it persists, report the page to Microsoft support.",
    )


def _malformed(blob: ContentBlob, why: str) -> MalformedContentError:
    return MalformedContentError(
        code=None,
        http_status=200,
        api_message=f"blob {blob.content_id}: {why}",
        explanation=f"The blob {blob.content_id} of {blob.content_type} could not be read: {why}.",
        fix="It is retried on the next run of the window; if it persists, fetch its contentUri "
        "by hand and report it.",
    )
