"""The numbers of one tenant's UTC day, read from the DuckDB views: events per hour by workload,
sign-ins that succeeded and failed, the busiest users and client addresses, DLP rule matches,
and the ledger's completeness per hour and content type.

Two clocks, on purpose. Activity is counted by `CreationTime` (when it happened), from the
`audit` view, which shows each (tenant, Id) once. Completeness is counted by availability
window (the hourly partitions `date=D`, which select blobs by `contentCreated`), because that
is the unit the pipeline lists and lands. Microsoft makes most events available 60-90 minutes
after they happen, some workloads later, with no guarantee ("Office 365 Management Activity API
FAQs and troubleshooting"), so a report made soon after the day may grow when it is made again.

Every value here comes from audit records, which are hostile input: they are kept as data and
escaped by the renderers, never interpreted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import duckdb

from o365_pipeline.content_types import CONTENT_TYPES

TOP = 10
HOURS = range(24)
SIGN_IN_WORKLOAD = "AzureActiveDirectory"
SIGNED_IN, SIGN_IN_FAILED = "UserLoggedIn", "UserLoginFailed"
DLP_CONTENT_TYPE = "DLP.All"
# SharePoint writes "DLPRuleMatch", Exchange "DlpRuleMatch" ("Office 365 Management Activity
# API schema", Data loss prevention schema), so the match is compared case-insensitively.
DLP_MATCH_OPERATION = "dlprulematch"
NO_WORKLOAD = "(none)"
# Ledger statuses the pipeline writes, then the two a report adds for hours without a row.
LEDGER_STATUSES = ("complete", "complete_with_loss", "incomplete", "missing", "not_due")

# The day's records, reduced to what the report needs (the DLP records keep their JSON).
_DAY_TABLE = f"""
CREATE OR REPLACE TEMP TABLE report_day AS
SELECT
    hour(CreationTime) AS hour,
    coalesce(nullif(Workload, ''), '{NO_WORKLOAD}') AS workload,
    nullif(UserId, '') AS user_id,
    client_address,
    Workload = '{SIGN_IN_WORKLOAD}' AND Operation IN ('{SIGNED_IN}', '{SIGN_IN_FAILED}')
        AS is_sign_in,
    Workload = '{SIGN_IN_WORKLOAD}' AND Operation = '{SIGN_IN_FAILED}' AS is_failed_sign_in,
    content_type = '{DLP_CONTENT_TYPE}' AND lower(Operation) = '{DLP_MATCH_OPERATION}'
        AS is_dlp_match,
    CASE WHEN content_type = '{DLP_CONTENT_TYPE}' THEN TRY_CAST(raw_json AS JSON) END AS dlp_json
FROM audit
WHERE tenant = $tenant AND CreationTime >= $start AND CreationTime < $end
"""
_EVENTS_BY_HOUR = "SELECT hour, workload, count(*) FROM report_day GROUP BY ALL ORDER BY ALL"
_SIGN_INS_BY_HOUR = """
SELECT hour, count(*) FILTER (NOT is_failed_sign_in), count(*) FILTER (is_failed_sign_in)
FROM report_day WHERE is_sign_in GROUP BY hour ORDER BY hour
"""
_TOP_USERS = f"""
SELECT user_id, count(*) AS events, count(*) FILTER (is_failed_sign_in)
FROM report_day WHERE user_id IS NOT NULL
GROUP BY user_id ORDER BY events DESC, user_id LIMIT {TOP}
"""
_TOP_ADDRESSES = f"""
SELECT client_address, count(*) AS events, count(DISTINCT user_id),
       count(*) FILTER (is_failed_sign_in)
FROM report_day WHERE client_address IS NOT NULL
GROUP BY client_address ORDER BY events DESC, client_address LIMIT {TOP}
"""
_DLP_BY_HOUR = """
SELECT hour, workload, count(*) FROM report_day WHERE is_dlp_match GROUP BY ALL ORDER BY ALL
"""
# PolicyDetails is a list of policies, each with a list of Rules; anything else (a string, a
# number, an object where a list belongs) contributes no rule instead of failing the report.
_DLP_RULES = """
WITH policies AS (
    SELECT unnest(CASE WHEN json_type(dlp_json, '$.PolicyDetails') = 'ARRAY'
                       THEN CAST(json_extract(dlp_json, '$.PolicyDetails') AS JSON[])
                       ELSE [] END) AS policy
    FROM report_day WHERE is_dlp_match
),
rules AS (
    SELECT policy ->> 'PolicyName' AS policy_name,
           unnest(CASE WHEN json_type(policy, '$.Rules') = 'ARRAY'
                       THEN CAST(json_extract(policy, '$.Rules') AS JSON[])
                       ELSE [] END) AS rule
    FROM policies
)
SELECT coalesce(policy_name, '(unnamed)') AS policy_name,
       coalesce(rule ->> 'RuleName', '(unnamed)') AS rule_name,
       coalesce(rule ->> 'Severity', '(none)') AS severity,
       count(*) AS matches
FROM rules GROUP BY ALL ORDER BY matches DESC, policy_name, rule_name, severity
"""
_LEDGER = """
SELECT content_type, hour, status, records_written
FROM ledger WHERE tenant = $tenant AND date = $day
"""


@dataclass(frozen=True)
class HourCount:
    """How many records of one kind (`label`: a workload) fell in one UTC hour."""

    hour: int
    label: str
    count: int


@dataclass(frozen=True)
class SignInHour:
    """Entra sign-ins of one UTC hour: UserLoggedIn and UserLoginFailed."""

    hour: int
    succeeded: int
    failed: int


@dataclass(frozen=True)
class TopUser:
    """One of the day's busiest UserIds."""

    user: str
    events: int
    failed_sign_ins: int


@dataclass(frozen=True)
class TopAddress:
    """One of the day's busiest client addresses (ClientIP without its port)."""

    address: str
    events: int
    users: int
    failed_sign_ins: int


@dataclass(frozen=True)
class DlpRule:
    """How often one DLP policy rule matched during the day."""

    policy: str
    rule: str
    severity: str
    matches: int


@dataclass(frozen=True)
class LedgerHour:
    """The ledger's word on one content type's availability window: its status, or `missing`
    (no ledger row for a window that has ended) or `not_due` (the window has not ended yet).
    """

    content_type: str
    hour: int
    status: str
    records_written: int


@dataclass(frozen=True)
class DayFacts:
    """Everything the report shows about one tenant's UTC day."""

    tenant: str
    day: date
    events: int
    events_by_hour: tuple[HourCount, ...]
    sign_ins: tuple[SignInHour, ...]
    top_users: tuple[TopUser, ...]
    top_addresses: tuple[TopAddress, ...]
    dlp_by_hour: tuple[HourCount, ...]
    dlp_rules: tuple[DlpRule, ...]
    ledger: tuple[LedgerHour, ...]

    @property
    def successful_sign_ins(self) -> int:
        """UserLoggedIn records of the day."""
        return sum(hour.succeeded for hour in self.sign_ins)

    @property
    def failed_sign_ins(self) -> int:
        """UserLoginFailed records of the day."""
        return sum(hour.failed for hour in self.sign_ins)

    @property
    def dlp_matches(self) -> int:
        """DLP rule-match records of the day."""
        return sum(count.count for count in self.dlp_by_hour)

    @property
    def events_by_workload(self) -> dict[str, int]:
        """The day's records per workload, busiest first (ties by name)."""
        totals = Counter()
        for count in self.events_by_hour:
            totals[count.label] += count.count
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    @property
    def ledger_status_counts(self) -> dict[str, int]:
        """How many content-type hours have each status (every status listed, zeros too)."""
        counts = Counter(hour.status for hour in self.ledger)
        return {status: counts.get(status, 0) for status in LEDGER_STATUSES}


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day as a half-open [start, end) pair of aware datetimes."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def read_day_facts(
    connection: duckdb.DuckDBPyConnection, tenant: str, day: date, now: datetime
) -> DayFacts:
    """The facts of `tenant`'s `day` from a connection with the views (`storage.views`);
    `now` decides which windows without a ledger row are missing and which are not due yet.
    """
    start, end = day_bounds(day)
    connection.execute(_DAY_TABLE, {"tenant": tenant, "start": start, "end": end})
    try:
        (events,) = connection.execute("SELECT count(*) FROM report_day").fetchone()
        events_by_hour = _hour_counts(connection, _EVENTS_BY_HOUR)
        sign_ins = _sign_ins(connection)
        top_users = tuple(TopUser(*row) for row in connection.execute(_TOP_USERS).fetchall())
        top_addresses = tuple(
            TopAddress(*row) for row in connection.execute(_TOP_ADDRESSES).fetchall()
        )
        dlp_by_hour = _hour_counts(connection, _DLP_BY_HOUR)
        dlp_rules = tuple(DlpRule(*row) for row in connection.execute(_DLP_RULES).fetchall())
    finally:
        connection.execute("DROP TABLE IF EXISTS report_day")
    ledger = _ledger_hours(connection, tenant, day, now)
    return DayFacts(
        tenant=tenant,
        day=day,
        events=events,
        events_by_hour=events_by_hour,
        sign_ins=sign_ins,
        top_users=top_users,
        top_addresses=top_addresses,
        dlp_by_hour=dlp_by_hour,
        dlp_rules=dlp_rules,
        ledger=ledger,
    )


def _hour_counts(connection: duckdb.DuckDBPyConnection, query: str) -> tuple[HourCount, ...]:
    return tuple(HourCount(*row) for row in connection.execute(query).fetchall())


def _sign_ins(connection: duckdb.DuckDBPyConnection) -> tuple[SignInHour, ...]:
    """All 24 hours, zeros included, so a chart and a table always have the same x axis."""
    found = {
        hour: (ok, failed) for hour, ok, failed in connection.execute(_SIGN_INS_BY_HOUR).fetchall()
    }
    return tuple(SignInHour(hour, *found.get(hour, (0, 0))) for hour in HOURS)


def _ledger_hours(
    connection: duckdb.DuckDBPyConnection, tenant: str, day: date, now: datetime
) -> tuple[LedgerHour, ...]:
    """Every content type × hour of the day, in `CONTENT_TYPES` order then by hour."""
    rows = connection.execute(_LEDGER, {"tenant": tenant, "day": day}).fetchall()
    found = {(kind, hour): (status, written) for kind, hour, status, written in rows}
    start, _ = day_bounds(day)
    hours = []
    for content_type in CONTENT_TYPES:
        for hour in HOURS:
            status, written = found.get((content_type.name, hour), (None, 0))
            if status is None:
                ended = start + timedelta(hours=hour + 1) <= now
                status = "missing" if ended else "not_due"
            hours.append(LedgerHour(content_type.name, hour, status, written or 0))
    return tuple(hours)
