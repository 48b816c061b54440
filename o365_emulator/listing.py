"""The listing rules of `subscriptions/content`: the time window, the page token and the URLs a
listing hands out (contentUri, NextPageUri), rooted at the host the client called.

The window selects blobs by **contentCreated**, inclusive start and exclusive end; startTime and
endTime come both or neither, at most 24 h apart, start no more than 7 days back and before end,
else 400 AF20055 (the live code). Neither given means the last 24 h. Accepted forms: `YYYY-MM-DD`,
`YYYY-MM-DDTHH:MM`, `…:SS`, optional fractional seconds, then `Z`, a UTC offset `±HH:MM` (what
Python's `isoformat()` sends, converted to UTC as a .NET DateTime parse does) or nothing (UTC)
(Office 365 Management Activity API reference, "List available content", names the first three
forms; the rest is observed behaviour, not in the public reference). Anything else is AF20002.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from o365_emulator.errors import api_error
from o365_emulator.responses import Reply
from o365_emulator.synthetic import BlobSpec

MAX_WINDOW = timedelta(hours=24)
MAX_LOOKBACK = timedelta(days=7)
_API_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:\d{2})?"
)
_PAGE_TOKEN = re.compile(r"(\d{10})R(\d{5})")


@dataclass(frozen=True)
class ListingWindow:
    """A validated window, with the text to repeat in `NextPageUri`."""

    start: datetime
    end: datetime
    start_text: str
    end_text: str


def parse_api_time(text: str) -> datetime | None:
    """A time in one of the accepted forms as aware UTC, else None."""
    value = text.strip()
    match = _API_TIME.fullmatch(value)
    if not match:
        return None
    zone = match[2] or ""
    value = value.removesuffix(zone)
    if match[1]:
        head, fraction = value.split(".")
        value = f"{head}.{fraction[:6]:0<6}"
    try:
        moment = datetime.fromisoformat(value)
        if zone and zone != "Z":
            return datetime.fromisoformat(value + zone).astimezone(UTC)
        return moment.replace(tzinfo=UTC)
    except ValueError:
        return None


def format_api_time(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.fffZ`, the form of contentCreated and contentExpiration."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def listing_window(query: dict[str, str], now: datetime) -> ListingWindow | Reply:
    """The window a listing asks for, or the API's error for a rule it breaks."""
    raw_start, raw_end = query.get("starttime"), query.get("endtime")
    if raw_start is None and raw_end is None:
        start = now - MAX_WINDOW
        return ListingWindow(start, now, format_api_time(start), format_api_time(now))
    if raw_start is None or raw_end is None:
        return api_error("AF20055", reason="StartTime and EndTime must both be specified.")
    start, end = parse_api_time(raw_start), parse_api_time(raw_end)
    if start is None:
        return api_error("AF20002", name="startTime", expected="datetime")
    if end is None:
        return api_error("AF20002", name="endTime", expected="datetime")
    if end <= start:
        return api_error("AF20055", reason="StartTime must be prior to EndTime.")
    if end - start > MAX_WINDOW:
        return api_error(
            "AF20055", reason="StartTime and EndTime must not be more than 24 hours apart."
        )
    if start < now - MAX_LOOKBACK:
        return api_error("AF20055", reason="StartTime must not be more than 7 days in the past.")
    return ListingWindow(start, end, raw_start, raw_end)


def encode_page_token(offset: int) -> str:
    """An opaque `nextPage` value (shaped like the documented `2015101900R022885001761`)."""
    return f"{offset:010d}R{offset * 7919 % 100000:05d}"


def decode_page_token(token: str) -> int | None:
    """The offset a `nextPage` value stands for, or None when it is not one we issued."""
    match = _PAGE_TOKEN.fullmatch(token)
    if not match or int(match[1]) * 7919 % 100000 != int(match[2]):
        return None
    return int(match[1])


def listed_item(spec: BlobSpec, root: str, retention: timedelta) -> dict:
    """A listing item, in the live key order, `$` left unencoded in contentUri; `root` is
    `{origin}/api/v1.0/{tenant}`.
    """
    return {
        "contentUri": f"{root}/activity/feed/audit/{spec.content_id}",
        "contentId": spec.content_id,
        "contentType": spec.content_type,
        "contentCreated": format_api_time(spec.content_created),
        "contentExpiration": format_api_time(spec.content_created + retention),
    }


def next_page_uri(
    root: str, content_type: str, window: ListingWindow, publisher_id: str | None, offset: int
) -> str:
    """The absolute next-page URL: same window (the implicit one spelled out), the caller's
    PublisherIdentifier, and an opaque `nextPage` (Office 365 Management Activity API reference,
    "Pagination").
    """
    parts = [
        f"contentType={content_type}",
        f"startTime={quote(window.start_text, safe=':')}",
        f"endTime={quote(window.end_text, safe=':')}",
    ]
    if publisher_id is not None:
        parts.append(f"PublisherIdentifier={quote(publisher_id)}")
    parts.append(f"nextPage={encode_page_token(offset)}")
    return f"{root}/activity/feed/subscriptions/content?{'&'.join(parts)}"
