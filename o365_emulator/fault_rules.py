"""Fault rules: which faults exist, their options, and how a rule is written on the command
line (`kind:name=value,...`) or sent to the control endpoint (`{"kind": ..., ...}`). Validated
here, so a typo is refused with the allowed names instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TARGETS = ("blob", "listing", "api")
CONTENT_SWITCHES = ("duplicates", "huge_blob")


class FaultSpecError(ValueError):
    """A fault description that cannot be used (unknown kind, option or value)."""


@dataclass(frozen=True)
class FaultRule:
    """One fault to switch on: its kind, the requests it targets, how many it may hit, the
    chance it hits a matching one, how many it lets through first, and its own options.
    """

    kind: str
    target: str = "api"
    count: int | None = 1
    probability: float = 1.0
    options: dict = field(default_factory=dict)
    after: int = 0  # let this many matching requests through first

    def describe(self) -> dict:
        """The rule as the control endpoint shows it."""
        return {
            "kind": self.kind,
            "target": self.target,
            "count": self.count,
            "probability": self.probability,
            "after": self.after,
            **self.options,
        }


# kind: (default target, allowed options with their types and defaults)
_KINDS: dict[str, tuple[str, dict[str, tuple[type, object]]]] = {
    # `retry_after` is the header's text: delta-seconds ("1", "0") or an HTTP date.
    "throttle": ("api", {"status": (int, 429), "retry_after": (str, "1")}),
    "server_error": ("api", {"status": (int, 503), "retry_after": (int, 0)}),
    "reset": ("api", {}),
    "slow": ("api", {"seconds": (float, 2.0)}),
    # Not something Microsoft does: a host that sends an honest status line and headers, then
    # the body one byte at a time (each byte well inside any per-read timeout); `headers=1`:
    # the status line and headers so.
    "trickle": ("blob", {"seconds_per_byte": (float, 0.05), "headers": (int, 0)}),
    # Not something Microsoft does: every page names a new, never-seen NextPageUri.
    "endless_pages": ("listing", {}),
    # `honest=1`: cut right after a comma and announce the cut length (framing that looks whole).
    "truncate": ("blob", {"keep": (float, 0.5), "honest": (int, 0)}),
    "invalid_json": ("blob", {}),
    # A well-framed array whose first element is not an audit record (a string): only a reader
    # that checks every element can tell.
    "foreign_element": ("blob", {}),
    "missing_blob": ("blob", {}),
    "repeat_page": ("listing", {}),
    "recase_next_page": ("listing", {}),
    "late_blob": ("listing", {}),
    "expire_token": ("api", {}),
    "duplicates": ("api", {"fraction": (float, 0.3)}),
    "huge_blob": ("api", {"records": (int, 30_000)}),
    # Not something Microsoft does: a hostile or misconfigured host in between (a proxy, a
    # hijacked name) answering with a redirect elsewhere.
    "redirect": ("blob", {"status": (int, 302), "location": (str, "https://127.0.0.1:9/")}),
}
KINDS = tuple(_KINDS)


def make_rule(kind: str, **settings: object) -> FaultRule:
    """A validated rule: `count`, `probability`, `target` and the kind's own options."""
    if kind not in _KINDS:
        raise FaultSpecError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
    default_target, allowed = _KINDS[kind]
    settings = dict(settings)
    target = str(settings.pop("target", default_target))
    if target not in TARGETS:
        raise FaultSpecError(f"fault {kind}: target must be one of {', '.join(TARGETS)}")
    count = settings.pop("count", None if kind in CONTENT_SWITCHES else 1)
    probability = float(settings.pop("probability", 1.0))
    try:
        after = int(settings.pop("after", 0))
    except (TypeError, ValueError):
        raise FaultSpecError(f"fault {kind}: after must be a whole number") from None
    if count is not None and (str(count).lower() in ("all", "none", "")):
        count = None
    options = {}
    for name, (kind_of, default) in allowed.items():
        value = settings.pop(name, default)
        if value is None or str(value).lower() == "none":
            options[name] = None  # e.g. a throttle without Retry-After
            continue
        try:
            options[name] = kind_of(value)
        except (TypeError, ValueError):
            raise FaultSpecError(f"fault {kind}: {name} must be a {kind_of.__name__}") from None
    if settings:
        raise FaultSpecError(
            f"fault {kind}: unknown option(s) {', '.join(settings)}; "
            f"allowed: count, probability, after, target, {', '.join(allowed) or '(none)'}"
        )
    if not 0 < probability <= 1:
        raise FaultSpecError(f"fault {kind}: probability must be in (0, 1]")
    try:
        count = None if count is None else int(count)
    except (TypeError, ValueError):
        raise FaultSpecError(f"fault {kind}: count must be a whole number or 'all'") from None
    return FaultRule(kind, target, count, probability, options, after)


def parse_fault(text: str) -> FaultRule:
    """`kind[:name=value,...]`, the CLI's `--fault` syntax (e.g. `server_error:count=3`)."""
    kind, _, rest = text.partition(":")
    settings = {}
    for item in filter(None, rest.split(",")):
        name, sep, value = item.partition("=")
        if not sep:
            raise FaultSpecError(f"fault {text!r}: expected name=value, got {item!r}")
        settings[name.strip()] = value.strip()
    return make_rule(kind.strip(), **settings)
