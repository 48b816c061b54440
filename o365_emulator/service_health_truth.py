"""Ground truth of the emulated service health, under `/_emulator/service-health/` (no auth;
the emulator binds to loopback): what the issues collection holds at a moment, and when each
planned issue changes, so a test can compare what landed and pick a moment to move the clock to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from o365_emulator.odata_filter import parse_date_time
from o365_emulator.responses import Reply, json_reply
from o365_emulator.service_health import graph_time

if TYPE_CHECKING:
    from o365_emulator.server import Emulator


def service_health_answer(
    emulator: Emulator, method: str, path: str, query: dict[str, str]
) -> Reply:
    """`GET issues?tenantId=…[&at=…]`: the issues listed at `at` (default: the emulator's
    now); `GET changes?tenantId=…&startTime=…&endTime=…`: every issue whose impact starts in
    the range, with the moments its `lastModifiedDateTime` moves.
    """
    tenant = query.get("tenantid", "")
    if method != "GET" or not tenant:
        return json_reply(400, {"error": "bad_request", "error_description": "GET ?tenantId=…"})
    if path == "issues":
        at = _time(query.get("at")) or emulator.clock.now()
        issues = [issue.as_resource(at) for issue in emulator.service_health.issues_at(tenant, at)]
        return json_reply(200, {"at": graph_time(at), "count": len(issues), "issues": issues})
    if path == "changes":
        now = emulator.clock.now()
        start = _time(query.get("starttime")) or now - timedelta(days=30)
        end = _time(query.get("endtime")) or now + timedelta(days=7)
        planned = emulator.service_health.planned(tenant, start, end)
        return json_reply(
            200,
            [
                {
                    "id": issue.issue_id,
                    "service": issue.workload.service,
                    "startDateTime": graph_time(issue.start),
                    "changes": [graph_time(moment) for moment in issue.changes],
                }
                for issue in planned
            ],
        )
    return json_reply(404, {"error": "not_found", "error_description": f"No route {path}"})


def _time(text: str | None) -> datetime | None:
    return parse_date_time(text) if text else None
