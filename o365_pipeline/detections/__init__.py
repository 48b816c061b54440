"""The detection rules: one SQL file per rule under `rules/`, each opened by a header naming
it, its severity, what it finds and the Microsoft signal it follows.

A rule is a DuckDB query over the `audit` view with the parameters `$tenant`, `$day_start` and
`$day_end` (the UTC day, `[start, end)`) and returns one row per finding with exactly the
columns of `FINDING_COLUMNS`. SQL rather than Python so that an analyst can read a rule, paste
it into `o365-pipeline sql` with the values filled in, and add one without touching the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from o365_pipeline.errors import PipelineError

SEVERITIES = ("high", "medium", "low")
FINDING_COLUMNS = ("first_seen", "last_seen", "user", "ip", "evidence_ids", "summary")
PARAMETERS = ("tenant", "day_start", "day_end")
_HEADER_FIELDS = ("name", "severity", "description", "signal")
_FIELD_LINE = re.compile(r"^--\s*(?P<key>[a-z_]+):\s*(?P<value>.*)$")
_PARAMETER = re.compile(r"\$(?P<name>[a-z_]+)\b")


class DetectionRuleError(PipelineError, ValueError):
    """A rule file that cannot be used as it is (its header, severity or parameters)."""


@dataclass(frozen=True)
class DetectionRule:
    """One rule: its header and its query."""

    name: str
    severity: str
    description: str
    signal: str
    sql: str

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameters the query uses (DuckDB refuses values for absent ones)."""
        used = {match["name"] for match in _PARAMETER.finditer(self.sql)}
        return tuple(name for name in PARAMETERS if name in used)


def parse_rule(file_name: str, text: str) -> DetectionRule:
    """A rule from its file's text; the header is the run of `-- key: value` comment lines at
    the top (indented comment lines continue the previous field).
    """
    fields: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        match = _FIELD_LINE.match(line)
        if match and match["key"] in _HEADER_FIELDS:
            current = match["key"]
            fields[current] = match["value"].strip()
        elif current:
            fields[current] += " " + line.removeprefix("--").strip()
    missing = [name for name in _HEADER_FIELDS if not fields.get(name)]
    if missing:
        raise DetectionRuleError(
            f"Detection rule {file_name} has no {', '.join(missing)} in its header: start the "
            "file with `-- name: …`, `-- severity: …`, `-- description: …`, `-- signal: …`."
        )
    if fields["severity"] not in SEVERITIES:
        raise DetectionRuleError(
            f"Detection rule {file_name} has severity {fields['severity']!r}: use one of "
            f"{', '.join(SEVERITIES)}."
        )
    if f"{fields['name']}.sql" != file_name:
        raise DetectionRuleError(
            f"Detection rule {file_name} is named {fields['name']!r} in its header: name the "
            "file after the rule (`<name>.sql`)."
        )
    unknown = {match["name"] for match in _PARAMETER.finditer(text)} - set(PARAMETERS)
    if unknown:
        raise DetectionRuleError(
            f"Detection rule {file_name} uses ${', $'.join(sorted(unknown))}: only "
            f"${', $'.join(PARAMETERS)} are bound."
        )
    return DetectionRule(sql=text, **fields)


@cache
def load_rules() -> tuple[DetectionRule, ...]:
    """Every rule shipped in `rules/` (package data), in name order."""
    folder = resources.files(__package__) / "rules"
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return tuple(parse_rule(entry.name, entry.read_text(encoding="utf-8")) for entry in files)
