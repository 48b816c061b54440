import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from html import escape

import pytest
from markdown_it import MarkdownIt
from PIL import Image

from o365_pipeline.pipeline.daily_report import ReportDayError, write_daily_report
from o365_pipeline.reports.day_facts import day_bounds, read_day_facts
from o365_pipeline.storage.views import connect
from o365_pipeline_tests.landed_day import (
    HOSTILE_ADDRESS,
    HOSTILE_POLICY,
    HOSTILE_RULE,
    HOSTILE_USER,
    HOSTILE_WORKLOAD,
    LANDED_HOURS,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(landed_day):
    return write_daily_report(
        landed_day.root, landed_day.tenant, landed_day.day, now=datetime.now(UTC)
    )


def _sql(landed_day, query):
    """Straight SQL over the `audit` view, restricted to the landed day of the tenant."""
    start, end = day_bounds(landed_day.day)
    day = f"tenant = '{landed_day.tenant}' AND CreationTime >= $start AND CreationTime < $end"
    with connect(landed_day.root) as connection:
        cursor = connection.execute(query.replace("{day}", day), {"start": start, "end": end})
        return cursor.fetchall()


def test_events_per_workload_and_hour_match_sql(landed_day, report):
    rows = _sql(
        landed_day,
        "SELECT hour(CreationTime), Workload, count(*) FROM audit WHERE {day} GROUP BY ALL",
    )
    expected = Counter()
    for hour, workload, count in rows:
        expected[(hour, workload or "(none)")] += count

    facts = report.facts
    assert {(count.hour, count.label): count.count for count in facts.events_by_hour} == expected
    assert facts.events == sum(expected.values()) > 4 * 30  # four landed hours of five types
    assert len(facts.events_by_workload) >= 5


def test_sign_ins_per_hour_match_sql(landed_day, report):
    rows = _sql(
        landed_day,
        "SELECT hour(CreationTime), Operation, count(*) FROM audit WHERE {day} "
        "AND Workload = 'AzureActiveDirectory' GROUP BY ALL",
    )
    succeeded = {hour: count for hour, operation, count in rows if operation == "UserLoggedIn"}
    failed = {hour: count for hour, operation, count in rows if operation == "UserLoginFailed"}

    facts = report.facts
    assert [hour.succeeded for hour in facts.sign_ins] == [succeeded.get(h, 0) for h in range(24)]
    assert [hour.failed for hour in facts.sign_ins] == [failed.get(h, 0) for h in range(24)]
    assert facts.successful_sign_ins > 0 and facts.failed_sign_ins >= 30  # the hostile spray


def test_top_users_and_addresses_match_sql(landed_day, report):
    users = _sql(
        landed_day,
        "SELECT UserId, count(*) AS n FROM audit WHERE {day} AND UserId <> '' "
        "GROUP BY UserId ORDER BY n DESC, UserId LIMIT 10",
    )
    addresses = _sql(
        landed_day,
        "SELECT client_address, count(*) AS n, count(DISTINCT nullif(UserId, '')) FROM audit "
        "WHERE {day} "
        "AND client_address IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10",
    )

    facts = report.facts
    assert [(user.user, user.events) for user in facts.top_users] == users
    assert [(a.address, a.events, a.users) for a in facts.top_addresses] == addresses
    assert len(users) == 10 and len(addresses) > 1


def test_dlp_matches_and_rules_match_the_records_json(landed_day, report):
    rows = _sql(
        landed_day,
        "SELECT raw_json FROM audit WHERE {day} AND content_type = 'DLP.All' "
        "AND lower(Operation) = 'dlprulematch'",
    )
    rules = Counter()
    for (raw,) in rows:
        policies = json.loads(raw).get("PolicyDetails")
        for policy in policies if isinstance(policies, list) else []:
            for rule in policy.get("Rules", []):
                rules[(policy["PolicyName"], rule["RuleName"], str(rule["Severity"]))] += 1

    facts = report.facts
    assert facts.dlp_matches == len(rows) > 2
    assert {(r.policy, r.rule, r.severity): r.matches for r in facts.dlp_rules} == rules


def test_ledger_completeness_counts_every_landed_window_complete_and_the_rest_missing(
    landed_day, report
):
    with connect(landed_day.root) as connection:
        (complete,) = connection.execute(
            "SELECT count(*) FROM ledger WHERE tenant = ? AND date = ? AND status = 'complete'",
            [landed_day.tenant, landed_day.day],
        ).fetchone()

    counts = report.facts.ledger_status_counts
    assert complete == 5 * len(LANDED_HOURS)
    assert counts["complete"] == complete
    assert counts["missing"] == 5 * 24 - complete  # the day has ended: nothing is not due
    assert counts["not_due"] == 0


def test_windows_without_a_ledger_row_are_not_due_until_they_end(landed_day):
    now = landed_day.hour(LANDED_HOURS[0]) + timedelta(minutes=30)
    with connect(landed_day.root) as connection:
        facts = read_day_facts(connection, landed_day.tenant, landed_day.day, now)
    status = {(hour.content_type, hour.hour): hour.status for hour in facts.ledger}

    assert status[("Audit.Exchange", 0)] == "missing"
    assert status[("Audit.Exchange", LANDED_HOURS[0])] == "complete"  # the ledger row decides
    assert status[("Audit.Exchange", 23)] == "not_due"


def test_html_page_has_every_section_and_its_numbers(report):
    page = report.html_path.read_text()
    facts = report.facts

    for heading in (
        "Events per hour by workload",
        "Sign-ins (Entra ID)",
        "Top users",
        "Top client addresses",
        "DLP matches (DLP.All)",
        "Ledger completeness",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert page.count('src="data:image/png;base64,') == 4
    for number in (facts.events, facts.failed_sign_ins, facts.dlp_matches):
        assert f'<td class="number">{number}</td>' in page
    top = facts.top_users[1]
    assert f'<td>{top.user}</td><td class="number">{top.events}</td>' in page
    first, last = LANDED_HOURS[0], LANDED_HOURS[-1] + 1
    for windows in (f"00:00-{first:02d}:00", f"{last:02d}:00-24:00"):  # hours without a ledger
        assert f"<tr><td>Audit.Exchange</td><td>{windows}</td><td>missing</td></tr>" in page
    assert report.html_path.parent.name == f"date={facts.day.isoformat()}"
    assert report.html_path.parent.parent.name == f"tenant={facts.tenant}"


def test_hostile_values_are_escaped_in_the_page_and_the_markdown(report):
    page = report.html_path.read_text()
    markdown = report.markdown()
    assert HOSTILE_USER in {user.user for user in report.facts.top_users}
    assert HOSTILE_ADDRESS in {address.address for address in report.facts.top_addresses}
    assert HOSTILE_POLICY in {rule.policy for rule in report.facts.dlp_rules}
    assert HOSTILE_WORKLOAD in report.facts.events_by_workload

    for tag in ("<script", "<img src=x", "<iframe", "<b>"):
        assert tag not in page
    assert page.count("<img") == 4  # the charts
    assert "&lt;script&gt;alert(&quot;user&quot;)&lt;/script&gt;" in page
    assert "&lt;iframe src=javascript:alert(3)&gt;" in page

    # The Markdown as a CommonMark + GFM-tables renderer with raw HTML allowed turns it into
    # HTML: still no tag, link or image from a record, and each hostile value shown literally.
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    for tag in ("<script", "<img src=x", "<iframe", "<b>", "<a "):
        assert tag not in rendered
    images = re.findall(r'<img src="([^"]*)"', rendered)
    assert len(images) == 4 and all(src.startswith("data:image/png;base64,") for src in images)
    assert f"<code>{escape(HOSTILE_USER)}</code>" in rendered
    assert f"<code>{escape(HOSTILE_RULE)}</code>" in rendered  # its pipe stays in the cell


def test_charts_are_valid_png_files_beside_the_page(report):
    assert [path.name for path in report.chart_paths] == [
        "events_by_hour.png",
        "sign_ins_by_hour.png",
        "dlp_matches_by_hour.png",
        "ledger_completeness.png",
    ]
    for path in report.chart_paths:
        content = path.read_bytes()
        assert content.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
        with Image.open(io.BytesIO(content)) as image:
            assert image.format == "PNG" and image.size == (800, 280)
            assert "Software" not in image.info


def test_the_same_data_gives_the_same_bytes(landed_day, report):
    again = write_daily_report(
        landed_day.root, landed_day.tenant, landed_day.day, now=datetime.now(UTC)
    )

    assert again.html_path.read_bytes() == render_bytes(report)
    assert [chart.png for chart in again.charts] == [chart.png for chart in report.charts]
    assert not list(report.html_path.parent.glob(".*.tmp"))  # nothing left by the atomic writes


def render_bytes(report):
    from o365_pipeline.reports.html_page import render_html

    return render_html(report.facts, report.charts).encode()


def test_a_day_that_has_not_begun_is_refused_naming_today(landed_day):
    now = datetime(2026, 12, 3, 9, tzinfo=UTC)
    with pytest.raises(ReportDayError, match="has not begun.*2026-12-03"):
        write_daily_report(
            landed_day.root, landed_day.tenant, now.date() + timedelta(days=1), now=now
        )


def test_a_day_without_data_still_renders_every_section_as_empty(landed_day):
    day = landed_day.day - timedelta(days=1)
    empty = write_daily_report(landed_day.root, landed_day.tenant, day, now=datetime.now(UTC))

    page = empty.html_path.read_text()
    assert empty.facts.events == 0 and empty.facts.ledger_status_counts["missing"] == 5 * 24
    assert page.count("none this day") == 4  # workloads, users, addresses, DLP rules
    for chart in empty.charts:
        with Image.open(io.BytesIO(chart.png)) as image:
            image.verify()
