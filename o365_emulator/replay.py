"""Replayed tenants: a user's own exported audit records served as one tenant's content, so
the pipeline can be run against real-shaped data (type drift, odd fields, malformed edge
cases) instead of synthetic records.

It answers the same three questions as `SyntheticTenants` (`blobs_for_hour`, `records`,
`record_ids`), so the Activity API serves it unchanged. Everything is decided once, at
construction: the files are read, each record is routed to a content type by its `RecordType`,
and the records are laid out over the last complete hours. After that the object is read-only,
hence safe to share between the server's threads.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from o365_emulator.synthetic import BlobSpec, hour_of
from o365_pipeline.content_types import CONTENT_TYPES, ContentType, content_type_named

REPLAY_SHARD = "na0001"
FALLBACK_CONTENT_TYPE = "Audit.General"
_BY_RECORD_TYPE = {code: kind for kind in CONTENT_TYPES for code in kind.record_types}
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_BLOB_SPACING_MS = 60_000
_LAST_OFFSET_MS = 3_599_000
_FIRST_START_LEAD = timedelta(minutes=2)


class ReplayFileError(ValueError):
    """An export file that is not NDJSON of objects nor a JSON array of objects; the message
    names the file and the line, so the user can fix the export rather than guess.
    """


BlobKey = tuple[str, str, datetime]


class ReplayedTenants:
    """Exported audit records served as the content of the tenants they are mapped to.

    Each tenant's records (all its files, in list order, then line order) are sorted by
    `CreationTime` (ties keep file order; a record without a readable `CreationTime` goes after
    the dated ones) and dealt evenly by count over the `hours` complete UTC hours before the
    hour containing `now()` at construction, so every blob is listable at once and the
    export's time order survives. Within each (tenant, content type, hour) the records are cut
    into blobs of at most `records_per_blob`, created at hour + 1, 2, … minutes (closer together
    when an hour holds more than 59 blobs), each starting just after the previous blob of its
    content type, as on one shard of the live service.

    A record's content type comes from its `RecordType` (a number or a numeric string) through
    `CONTENT_TYPES`; any other value lands in Audit.General, as the live service routes types
    it has no dedicated feed for. Records are served exactly as parsed (no key or value is
    rewritten, CreationTime included), so records lacking a string `Id` are served too: that is
    how a replay exercises the pipeline's handling of malformed blobs.

    Memory: every record of every file is held as a parsed dict for the object's lifetime,
    about 4 times the file size (measured on the elastic-o365 corpus). That suits test exports
    of up to some hundred thousand records, not months of a production tenant.
    """

    def __init__(
        self,
        files: Mapping[str, Sequence[Path]],
        *,
        now: Callable[[], datetime],
        hours: int = 24,
        records_per_blob: int = 1000,
    ) -> None:
        if hours < 1:
            raise ValueError(f"hours must be at least 1, not {hours}.")
        if records_per_blob < 1:
            raise ValueError(f"records_per_blob must be at least 1, not {records_per_blob}.")
        moment = now()
        if moment.tzinfo is None:
            raise ValueError("now() must return an aware datetime (UTC), not a naive one.")
        last_hour = hour_of(moment) - timedelta(hours=1)
        first_hour = last_hour - timedelta(hours=hours - 1)
        loaded: dict[Path, list[dict]] = {}
        self._blobs: dict[BlobKey, tuple[BlobSpec, ...]] = {}
        self._records: dict[BlobSpec, list[dict]] = {}
        for tenant_id, paths in _tenants(files).items():
            records: list[dict] = []
            for path in paths:
                key = Path(path).resolve()
                if key not in loaded:
                    loaded[key] = load_export(Path(path))
                records += loaded[key]
            self._lay_out(tenant_id, records, first_hour, hours, records_per_blob)

    def blobs_for_hour(
        self, tenant_id: str, content_type: ContentType, hour: datetime
    ) -> tuple[BlobSpec, ...]:
        """The blobs whose contentCreated falls in `hour`, in contentCreated order; () for a
        tenant that replays nothing or an hour outside the replayed window.
        """
        return self._blobs.get((tenant_id.lower(), content_type.name, hour), ())

    def records(self, spec: BlobSpec) -> list[dict]:
        """The blob's records, as parsed from the export (a new list; the dicts are shared, so
        callers must not modify them).

        Raises:
            KeyError: `spec` is not a blob this object issued.

        """
        return list(self._records[spec])

    def record_ids(self, spec: BlobSpec) -> list[str]:
        """The string `Id`s of the blob's records, in blob order. A record without a string Id
        has nothing to count in ground truth (the pipeline rejects its blob), so it is left out.
        """
        return [record["Id"] for record in self._records[spec] if isinstance(record.get("Id"), str)]

    def _lay_out(
        self,
        tenant_id: str,
        records: list[dict],
        first_hour: datetime,
        hours: int,
        records_per_blob: int,
    ) -> None:
        """Deal the tenant's records over the hours by count, then cut each (content type,
        hour) into blobs that tile time per content type.
        """
        ordered = sorted(records, key=_creation_order)
        grouped: dict[tuple[str, int], list[dict]] = {}
        for position, record in enumerate(ordered):
            slot = position * hours // len(ordered)
            grouped.setdefault((content_type_of(record).name, slot), []).append(record)
        for kind in CONTENT_TYPES:
            start: datetime | None = None
            for slot in range(hours):
                batch = grouped.get((kind.name, slot))
                if not batch:
                    continue
                hour = first_hour + timedelta(hours=slot)
                chunks = [
                    batch[offset : offset + records_per_blob]
                    for offset in range(0, len(batch), records_per_blob)
                ]
                spacing = min(_BLOB_SPACING_MS, _LAST_OFFSET_MS // len(chunks))
                if start is None:
                    start = hour - _FIRST_START_LEAD + timedelta(milliseconds=1)
                specs = []
                for index, chunk in enumerate(chunks):
                    created = hour + timedelta(milliseconds=spacing * (index + 1))
                    spec = BlobSpec(
                        tenant_id,
                        kind.name,
                        hour,
                        index,
                        start,
                        created,
                        len(chunk),
                        REPLAY_SHARD,
                    )
                    self._records[spec] = chunk
                    specs.append(spec)
                    start = created + timedelta(milliseconds=1)
                self._blobs[(tenant_id, kind.name, hour)] = tuple(specs)


def content_type_of(record: Mapping) -> ContentType:
    """The content type the live service would file the record under: the one listing its
    `RecordType` (15 and "15" alike, as the pipeline reads both), else Audit.General.
    """
    code = _record_type_code(record.get("RecordType"))
    kind = _BY_RECORD_TYPE.get(code) if code is not None else None
    return kind or content_type_named(FALLBACK_CONTENT_TYPE)


def load_export(path: Path) -> list[dict]:
    """The records of one export file: a JSON array when its first non-space character is
    `[`, else NDJSON (one object a line, blank lines skipped). A UTF-8 byte order mark, as
    PowerShell writes, is accepted.

    Raises:
        ReplayFileError: a line or element is not valid JSON or not a JSON object; the message
            names the file and the 1-based line.

    """
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        return _array_records(path, text)
    return _ndjson_records(path, text.split("\n"))


def _tenants(files: Mapping[str, Sequence[Path]]) -> dict[str, Sequence[Path]]:
    """The mapping with lower-case tenant GUIDs, as the Activity API looks tenants up."""
    tenants: dict[str, Sequence[Path]] = {}
    for tenant_id, paths in files.items():
        try:
            canonical = str(uuid.UUID(tenant_id))
        except ValueError:
            raise ValueError(f"Replay tenant {tenant_id!r} is not a GUID.") from None
        if canonical in tenants:
            raise ValueError(f"Replay tenant {tenant_id!r} is given twice.")
        tenants[canonical] = paths
    return tenants


def _ndjson_records(path: Path, lines: Iterable[str]) -> list[dict]:
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ReplayFileError(
                f"{path}, line {number}: not valid JSON ({error.msg} at column {error.colno})."
            ) from None
        records.append(_object(path, number, value))
    return records


def _array_records(path: Path, text: str) -> list[dict]:
    """The elements of a JSON array file, parsed one by one so that an error can name the line
    of the offending element rather than only the file.
    """
    decoder = json.JSONDecoder()
    position = _skip_space(text, text.index("[") + 1)
    records: list[dict] = []
    if text.startswith("]", position):
        return _after_array(path, text, position, records)
    while True:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise ReplayFileError(
                f"{path}, line {error.lineno}: not valid JSON ({error.msg} at column "
                f"{error.colno})."
            ) from None
        records.append(_object(path, _line_of(text, position), value))
        position = _skip_space(text, end)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif text.startswith("]", position):
            return _after_array(path, text, position, records)
        else:
            raise ReplayFileError(
                f"{path}, line {_line_of(text, position)}: expected ',' or ']' after an "
                "array element."
            )


def _after_array(path: Path, text: str, position: int, records: list[dict]) -> list[dict]:
    """The records, once nothing but whitespace follows the closing bracket."""
    rest = _skip_space(text, position + 1)
    if rest != len(text):
        raise ReplayFileError(
            f"{path}, line {_line_of(text, rest)}: unexpected text after the closing ']'."
        )
    return records


def _object(path: Path, line: int, value: object) -> dict:
    if not isinstance(value, dict):
        raise ReplayFileError(
            f"{path}, line {line}: a JSON {_json_kind(value)}, not a JSON object; each record "
            "of an export must be one audit record object."
        )
    return value


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _skip_space(text: str, position: int) -> int:
    return _JSON_SPACE.match(text, position).end()


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _record_type_code(value: object) -> int | None:
    """RecordType as an integer: a JSON integer, an integral float, or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def _creation_order(record: Mapping) -> tuple[bool, datetime]:
    """Sort key: dated records by CreationTime (naive times are UTC, as the service writes
    them), then undated ones; `sorted` is stable, so ties keep file order.
    """
    value = record.get("CreationTime")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
            return False, (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    return True, datetime.min.replace(tzinfo=UTC)
