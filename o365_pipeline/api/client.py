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

from o365_pipeline.api.auth import MsalBearerAuth, VerifyingSession
from o365_pipeline.api.content import ContentBlob, Subscription
from o365_pipeline.api.errors import (
    ClockSkewError,
    ContentNotFoundError,
    MalformedContentError,
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
    ) -> None:
        self.settings = settings
        self.server_clock = ServerClock(clock)
        self._sleep = sleep or time.sleep
        self._session = VerifyingSession(settings.verify)
        self._session.hooks["response"].append(self.server_clock.observe_response)
        self._auth = MsalBearerAuth(settings, self._session)
        self._transport = ApiTransport(settings, self._session, self._auth, sleep=self._sleep)
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

    def start_subscription(self, content_type: str) -> Subscription:
        """Start (or keep) the subscription; "already enabled" (AF20024) counts as success."""
        try:
            response = self._transport.request(
                "POST", f"{self._feed}/subscriptions/start", params={"contentType": content_type}
            )
        except ManagementApiError as error:
            if error.code == "AF20024":
                return Subscription(content_type=content_type, status="enabled")
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
        seen: set[str] = set()
        for piece in split_window(window):
            params = {
                "contentType": content_type,
                "startTime": format_api_time(piece.start),
                "endTime": format_api_time(piece.end),
            }
            try:
                for page in pages(self._transport, f"{self._feed}/subscriptions/content", params):
                    self._check_listable(window)  # the first answer may reveal a skewed clock
                    for item in page.json():
                        blob = _content_blob(item, content_type)
                        if blob.content_id not in seen:
                            seen.add(blob.content_id)
                            yield blob
            except RetentionWindowError as error:
                raise self._explained_by_skew(error) from None

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
        except ValueError as error:
            raise _malformed(
                blob, f"the body is not valid JSON ({error.msg} at {error.pos})"
            ) from None
        if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
            raise _malformed(blob, "the body is not a JSON array of record objects")
        return records

    def download_blob(self, blob: ContentBlob, path: Path) -> None:
        """Stream one blob's body into `path` (memory stays flat whatever the blob's size).

        Raises:
            ContentExpiredError: the blob is past its contentExpiration (AF20051).

        """
        policy = self.settings.retry
        for attempt in range(1, policy.missing_blob_attempts + 1):
            try:
                self._transport.request("GET", blob.content_uri, body_to=path)
                return
            except ContentNotFoundError:
                # Listed, yet not there: the service's stores catch up with its listing
                # within minutes. Retried with backoff; a blob that stays missing fails the
                # window by name (never skipped), and a later run tries again.
                if attempt == policy.missing_blob_attempts:
                    raise
                self._transport.stats.retries += 1
                self._sleep(
                    min(policy.max_backoff_seconds, policy.initial_backoff_seconds * 2**attempt)
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
        self, blobs: Iterable[ContentBlob], folder: Path, max_workers: int | None = None
    ) -> Iterator[tuple[ContentBlob, Path | ManagementApiError]]:
        """Stream blobs concurrently into files under `folder`; yield `(blob, path or error)` in
        input order.

        Bodies go straight to disk, so memory stays flat whatever the blob sizes; at most
        `max_workers` downloads run or wait to be consumed. The caller owns (and deletes) each
        file it is given.
        """

        def download(blob: ContentBlob, index: int) -> Path | ManagementApiError:
            return self.download_blob_or_error(blob, folder / f"blob-{index:06d}.json")

        yield from _in_order(
            blobs, download, max_workers or self.settings.max_concurrent_fetches, with_index=True
        )

    def download_blob_or_error(self, blob: ContentBlob, path: Path) -> Path | ManagementApiError:
        """`path` with the blob's body, or the error that stopped it (no partial file left)."""
        try:
            self.download_blob(blob, path)
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


def _content_blob(item: dict, content_type: str) -> ContentBlob:
    return ContentBlob(
        content_type=item.get("contentType", content_type),
        content_id=item["contentId"],
        content_uri=item["contentUri"],
        content_created=parse_api_time(item["contentCreated"]),
        content_expiration=parse_api_time(item["contentExpiration"]),
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
