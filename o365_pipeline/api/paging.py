"""Follow the Activity API's `NextPageUri` header across listing pages.

The header name is matched case-insensitively (Go canonicalises it to `Nextpageuri`; old docs
said `NextPageUrl`, never seen live). The URI is followed exactly as given, even when the
service re-cases its query parameters (`nextpage=`, `starttime=`), and only on the API host. A
URI repeated within one listing is an API loop and fails loudly instead of spinning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import requests

from o365_pipeline.api.errors import ManagementApiError
from o365_pipeline.api.transport import ApiTransport

NEXT_PAGE_HEADER = "NextPageUri"


class PaginationLoopError(ManagementApiError):
    """The API handed out a next-page URI it had already given in this listing."""


def pages(
    transport: ApiTransport, url: str, params: Mapping[str, str]
) -> Iterator[requests.Response]:
    """Yield every page of a listing, first request through the last `NextPageUri`."""
    seen: set[str] = set()
    response = transport.request("GET", url, params=params)
    while True:
        yield response
        next_uri = response.headers.get(NEXT_PAGE_HEADER)
        if not next_uri:
            return
        if next_uri in seen:
            raise PaginationLoopError(
                code="AF20031",
                http_status=None,
                api_message="NextPageUri repeated",
                explanation="The API returned a next-page URI it had already returned in this "
                "listing; following it again would loop forever.",
                fix="Re-run the listing; if it repeats, the window's listing is inconsistent "
                "on the service side.",
            )
        seen.add(next_uri)
        transport.check_trusted(next_uri)
        response = transport.request("GET", next_uri)
