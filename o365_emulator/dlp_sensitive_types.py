"""`resources/dlpSensitiveTypes`: friendly names of the DLP sensitive information types
(Office 365 Management Activity API reference, "Retrieve resource friendly names",
https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference).

The optional `Accept-Language` header names the one language wanted ("en-US" is the default when
it is absent). More than one language is AF20053 "Only one language may be present in the
Accept-Language header."; a value that is not a language range (RFC 9110 section 12.5.4:
`1*8ALPHA *("-" 1*8alphanum)` or `*`, optionally `;q=…`) is AF20054 "Invalid syntax in
Accept-Language header.". The emulator knows English names only and answers them for any
accepted language.
"""

from __future__ import annotations

import re

from o365_emulator.errors import api_error
from o365_emulator.responses import Reply, json_reply

DLP_SENSITIVE_TYPES = [
    {"id": "50842eb7-edc8-4019-85dd-5a5c1f2bb085", "name": "Credit Card Number"},
    {"id": "0e9b3178-9678-47dd-a509-37222ca96b42", "name": "EU Debit Card Number"},
    {"id": "a44669fe-0d48-453d-a9b1-2cc83f2cba77", "name": "U.S. Social Security Number (SSN)"},
    {
        "id": "178ec42a-18b4-47cc-85c7-d62c92fd67f8",
        "name": "International Banking Account Number (IBAN)",
    },
]
_LANGUAGE = re.compile(
    r"(?:[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)"
    r"(?:[ \t]*;[ \t]*[qQ]=(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?"
)


def sensitive_types(accept_language: str | None) -> Reply:
    """The list of sensitive types, or the API's error for an unusable `Accept-Language`."""
    if accept_language is None or not accept_language.strip():
        return json_reply(200, DLP_SENSITIVE_TYPES)
    languages = [part.strip() for part in accept_language.split(",")]
    if any(not _LANGUAGE.fullmatch(language) for language in languages):
        return api_error("AF20054")
    if len(languages) > 1:
        return api_error("AF20053")
    return json_reply(200, DLP_SENSITIVE_TYPES)
