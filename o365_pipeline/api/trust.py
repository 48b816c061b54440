r"""Which URIs may receive the bearer token: exactly the configured API origin, decided with the
parser that connects.

`contentUri` and `NextPageUri` come from the server (or from a listing file read back from disk
or a bucket), so they are hostile until checked. Two URL parsers can read one string's
authority differently (`https://api.example\\@evil.example/` is `evil.example` to
`urllib.parse` but `api.example` to urllib3), and a check made with one parser while `requests`
connects with the other sends the token wherever the difference points. So the decision is made
on urllib3's `parse_url`, which `requests` uses to prepare the request it sends, and any form
the two parsers could disagree on is refused outright: userinfo (`@`), backslashes, whitespace
and control characters, non-https schemes. Default ports are normalized (`https://host` and
`https://host:443` are one origin), host names compared case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

HTTPS_DEFAULT_PORT = 443


@dataclass(frozen=True)
class Origin:
    """scheme, host and port, as the connecting parser reads them."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        port = "" if self.port == HTTPS_DEFAULT_PORT else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"


def origin_of(url: str) -> Origin | None:
    """The origin `requests` would connect to for `url`, or None when the URL is ambiguous or
    not https (see the module docstring for what counts as ambiguous).
    """
    if "\\" in url or any(
        character.isspace() or ord(character) < 0x20 or ord(character) == 0x7F for character in url
    ):
        return None
    try:
        parts = parse_url(url)
    except LocationParseError:
        return None
    authority = re.split(r"[/?#]", url.split("//", 1)[1], maxsplit=1)[0] if "//" in url else ""
    if parts.scheme != "https" or parts.auth is not None or "@" in authority or not parts.host:
        return None
    return Origin("https", parts.host.lower(), parts.port or HTTPS_DEFAULT_PORT)


def refusal(url: str, trusted: Origin) -> str | None:
    """Why `url` must not receive the token, or None when it is on the trusted origin."""
    origin = origin_of(url)
    if origin is None:
        return "not a plain https URL (userinfo, backslash, whitespace or another scheme)"
    if origin != trusted:
        return f"on {origin}, not on {trusted}"
    return None
