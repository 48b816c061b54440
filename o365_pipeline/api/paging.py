"""Follow the Activity API's `NextPageUri` header across listing pages.

The header name is matched case-insensitively (Go canonicalises it to `Nextpageuri`; old docs
said `NextPageUrl`, never seen live). The URI is followed exactly as given, even when the
service re-cases its query parameters (`nextpage=`, `starttime=`), and only on the API host. A
page handed out twice is followed again (its blobs are de-duplicated by contentId upstream), but
a URI that keeps coming back is an API loop and fails loudly instead of spinning, and so does
a chain of ever-new URIs longer than the window's page limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import requests

from o365_pipeline.api.errors import PageLimitError, PaginationLoopError
from o365_pipeline.api.transport import ApiTransport

NEXT_PAGE_HEADER = "NextPageUri"
MAX_VISITS_PER_URI = 3


def pages(
    transport: ApiTransport,
    url: str,
    params: Mapping[str, str],
    *,
    max_pages: int,
    deadline: float | None = None,
    accept: Callable[[requests.Response], None] | None = None,
) -> Iterator[requests.Response]:
    """Yield every page of a listing, first request through the last `NextPageUri`; at most
    `max_pages`, every request within `deadline` (monotonic), each page checked by `accept`.
    """
    visits: dict[str, int] = {}
    response = transport.request("GET", url, params=params, deadline=deadline, accept=accept)
    count = 1
    while True:
        yield response
        next_uri = response.headers.get(NEXT_PAGE_HEADER)
        if not next_uri:
            return
        if count >= max_pages:
            raise PageLimitError(
                code=None,
                http_status=None,
                api_message=f"still a NextPageUri after {count} pages",
                explanation=f"The listing went on for more than {max_pages} pages, far more "
                "than any window holds; it is treated as a loop, and nothing of it is kept.",
                fix="Re-run the listing later; if the window really is that large, raise "
                "O365_MAX_PAGES_PER_WINDOW.",
            )
        count += 1
        visits[next_uri] = visits.get(next_uri, 0) + 1
        if visits[next_uri] > MAX_VISITS_PER_URI:
            raise PaginationLoopError(
                code="AF20031",
                http_status=None,
                api_message=f"NextPageUri returned {visits[next_uri]} times",
                explanation="The API keeps returning a next-page URI it has already returned in "
                "this listing; following it again would loop forever.",
                fix="Re-run the listing; if it repeats, the window's listing is inconsistent "
                "on the service side.",
            )
        transport.check_trusted(next_uri)
        response = transport.request("GET", next_uri, deadline=deadline, accept=accept)
