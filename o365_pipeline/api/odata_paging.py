"""Follow Microsoft Graph's `@odata.nextLink` across the pages of a collection.

Graph pages server-side: each page is `{"value": [...]}` and, while more remain, an
`@odata.nextLink` with the full URL of the next page, to be requested as given, never rebuilt
from its `$skiptoken` ("Paging Microsoft Graph data in your app",
https://learn.microsoft.com/graph/paging). The link comes from the server, so it is checked
against the configured Graph origin before the token could go with it (`api.trust`, through the
transport); a link handed out again and again is a loop, and a chain longer than `max_pages`
is treated as one too, so nothing a server sends keeps a listing going for ever.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import requests

from o365_pipeline.api.errors import MalformedListingError, PageLimitError, PaginationLoopError
from o365_pipeline.api.transport import ApiTransport

NEXT_LINK = "@odata.nextLink"


def odata_pages(
    transport: ApiTransport, url: str, *, max_pages: int, deadline: float | None = None
) -> Iterator[list[dict]]:
    """Yield the `value` of every page, from `url` through the last `@odata.nextLink`.

    Raises:
        UntrustedUriError: a next link outside the configured origin (nothing is sent there).
        PaginationLoopError / PageLimitError: the links loop, or never end.
        MalformedListingError: a page that is not a Graph collection page.

    """
    seen: set[str] = set()
    count = 0
    while True:
        response = transport.request("GET", url, deadline=deadline, accept=_collection_page)
        count += 1
        page = response.json()
        yield page["value"]
        next_link = page.get(NEXT_LINK)
        if not next_link:
            return
        if next_link in seen:
            raise PaginationLoopError(
                code=None,
                http_status=None,
                api_message=f"{NEXT_LINK} {next_link[:120]!r} handed out twice",
                explanation="Microsoft Graph named a next page it had already named in this "
                "listing; following it again would loop forever.",
                fix="Run again later; the listing starts afresh.",
            )
        if count >= max_pages:
            raise PageLimitError(
                code=None,
                http_status=None,
                api_message=f"still an {NEXT_LINK} after {count} pages",
                explanation=f"The collection went on for more than {max_pages} pages; it is "
                "treated as a loop, and nothing of it is kept.",
                fix="Run again later; if it really is that large, raise O365_MAX_PAGES_PER_WINDOW.",
            )
        seen.add(next_link)
        transport.check_trusted(next_link)
        url = next_link


def _collection_page(response: requests.Response) -> None:
    """Refuse (to be asked for again) a 2xx body that is not `{"value": [objects…]}`."""
    try:
        page = json.loads(response.content)
    except (ValueError, RecursionError):
        page = None
    values = page.get("value") if isinstance(page, dict) else None
    link = page.get(NEXT_LINK) if isinstance(page, dict) else None
    if (
        not isinstance(values, list)
        or not all(isinstance(item, dict) for item in values)
        or not (link is None or isinstance(link, str))
    ):
        raise MalformedListingError(
            code=None,
            http_status=response.status_code,
            api_message="not a collection page",
            explanation="A Microsoft Graph page was not a JSON object with a `value` array of "
            "objects; nothing of the listing was kept.",
            fix="Run again later; if it persists, check O365_GRAPH_BASE_URL and any proxy.",
        )
