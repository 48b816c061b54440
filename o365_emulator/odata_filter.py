"""The part of OData's `$filter` that service-communications clients send: comparisons of one
property with a literal, joined by `and` (OData URL conventions, "System Query Option
$filter"; Microsoft Graph, "Use the $filter query parameter",
https://learn.microsoft.com/graph/filter-query-parameter).

DateTimeOffset literals are written bare (`lastModifiedDateTime ge 2026-11-20T10:00:00Z`);
a quoted one is a string, and comparing a date with a string is refused with 400, as Graph
refuses it ("A binary operator with incompatible types was detected"). Anything else outside
this subset is refused with 400 too, never silently ignored: a client relying on a filter the
emulator skipped would pass here and fail live.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

DATE_PROPERTIES = ("lastModifiedDateTime", "startDateTime", "endDateTime")
TEXT_PROPERTIES = ("id", "service", "status", "classification", "feature", "featureGroup")
BOOLEAN_PROPERTIES = ("isResolved",)
_OPERATORS: dict[str, Callable[[object, object], bool]] = {
    "eq": lambda left, right: left == right,
    "ne": lambda left, right: left != right,
    "gt": lambda left, right: left is not None and left > right,
    "ge": lambda left, right: left is not None and left >= right,
    "lt": lambda left, right: left is not None and left < right,
    "le": lambda left, right: left is not None and left <= right,
}
_CLAUSE = re.compile(
    r"\s*(?P<property>[A-Za-z]+)\s+(?P<operator>[a-z]{2})\s+"
    r"(?P<literal>'(?:[^']|'')*'|[^\s']+)\s*"
)

Predicate = Callable[[dict], bool]


class FilterError(ValueError):
    """A `$filter` outside the supported subset, with Graph's kind of message."""


def parse_filter(text: str) -> Predicate:
    """A predicate over resources (dicts) for `text`.

    Raises:
        FilterError: the expression is malformed or uses what this subset does not serve.

    """
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.fullmatch(part)
        if not match:
            raise FilterError(f"Invalid filter clause: syntax error in {part.strip()!r}.")
        clauses.append(_clause(match["property"], match["operator"], match["literal"]))
    return lambda resource: all(clause(resource) for clause in clauses)


def parse_date_time(text: str) -> datetime | None:
    """A DateTimeOffset as Graph writes it (`Z` or an offset), else None."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _clause(name: str, operator: str, literal: str) -> Predicate:
    compare = _OPERATORS.get(operator)
    if compare is None:
        raise FilterError(f"Invalid filter clause: unknown operator {operator!r}.")
    quoted = literal.startswith("'")
    if name in DATE_PROPERTIES:
        value = None if quoted else parse_date_time(literal)
        if value is None:
            raise FilterError(
                "Invalid filter clause: A binary operator with incompatible types was "
                f"detected. Found operand types 'Edm.DateTimeOffset' and "
                f"'{'Edm.String' if quoted else 'Edm.Unknown'}' for operator kind '{operator}'."
            )
        return lambda resource: compare(parse_date_time(resource.get(name) or ""), value)
    if name in TEXT_PROPERTIES and quoted:
        text = literal[1:-1].replace("''", "'")
        return lambda resource: compare(resource.get(name), text)
    if name in BOOLEAN_PROPERTIES and literal in ("true", "false") and operator in ("eq", "ne"):
        flag = literal == "true"
        return lambda resource: compare(resource.get(name), flag)
    raise FilterError(f"Invalid filter clause: {name} {operator} {literal} is not supported.")
