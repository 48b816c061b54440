"""The origin (`https://host[:port]`) a request was addressed to, read from its `Host` header.

The service builds the absolute URLs it hands out (`contentUri`, `NextPageUri`, discovery
endpoints) on the host the client called (Office 365 Management Activity API reference, "List
available content": "contentUri: The URL to use when retrieving the content",
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference),
so an emulator reached as `localhost`, through a port forward or under a container name must
answer with that name, not with the address it is bound to. HTTPS's default port is left out,
as in `https://manage.office.com/…` (RFC 9110 section 4.2.3: a default port is the same as none). A
`Host` header that is not a plain `host[:port]` is never echoed into a URL: the bound address is
used instead.
"""

from __future__ import annotations

import re

# A DNS name or IPv4 address, or a bracketed IPv6 literal; then an optional port.
_HOST = re.compile(
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
HTTPS_DEFAULT_PORT = 443


def request_origin(host_header: str | None, fallback: str) -> str:
    """`https://{Host}` without a default port, or `fallback` when the header is missing or is
    not a well-formed `host[:port]`.
    """
    match = _HOST.fullmatch((host_header or "").strip())
    if not match:
        return fallback
    host, port = match["host"].lower(), match["port"]
    if port is None:
        return f"https://{host}"
    number = int(port)
    if not 0 < number < 65536:
        return fallback
    return f"https://{host}" if number == HTTPS_DEFAULT_PORT else f"https://{host}:{number}"
