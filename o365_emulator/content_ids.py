"""The contentId shape the live service emits (observed behaviour, not in the public reference:
the Office 365 Management Activity API reference calls contentId an opaque string):
`{start}${end}${wire_slug}${ContentType_with_underscore}${shard}`, e.g.
`20201212000045238027763$20201212002126942044256$audit_exchange$Audit_Exchange$na0017`.

`start` and `end` are UTC `yyyyMMddHHmmss` plus 9 fractional digits; `end` is contentCreated.
Clients must treat the id as opaque; the emulator parses it to find the blob again, and tells a
malformed id (AF20052) from a well-formed one it never issued (AF20050).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from o365_pipeline.content_types import CONTENT_TYPES, ContentType

_SHAPE = re.compile(r"(\d{23})\$(\d{23})\$([a-z_]+)\$([A-Za-z_]+)\$(na\d{4})")
_BY_WIRE_SLUG = {content_type.wire_slug: content_type for content_type in CONTENT_TYPES}


@dataclass(frozen=True)
class ParsedContentId:
    """What a well-formed contentId says; `content_type` is None when no type matches."""

    content_start: datetime
    content_created: datetime
    content_type: ContentType | None


def format_content_id(
    content_type: ContentType, start: datetime, created: datetime, shard: str
) -> str:
    """The id of a blob covering `start`…`created` on `shard`."""
    return (
        f"{_stamp(start)}${_stamp(created)}${content_type.wire_slug}$"
        f"{content_type.name.replace('.', '_')}${shard}"
    )


def parse_content_id(content_id: str) -> ParsedContentId | None:
    """The parts of a well-formed id, or None when it is malformed."""
    match = _SHAPE.fullmatch(content_id)
    if not match:
        return None
    start, created = _parse_stamp(match[1]), _parse_stamp(match[2])
    if start is None or created is None:
        return None
    content_type = _BY_WIRE_SLUG.get(match[3])
    if content_type is not None and content_type.name.replace(".", "_") != match[4]:
        content_type = None
    return ParsedContentId(start, created, content_type)


def _stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond * 1000:09d}"


def _parse_stamp(text: str) -> datetime | None:
    try:
        whole = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return whole.replace(microsecond=int(text[14:20]))
