"""The emulator's control surface under `/_emulator/` for tests and demos (no auth; the
emulator binds to loopback): switch faults on and off, skew the server clock, read the ground
truth (the records served, and the attack patterns planted among them), check health.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from o365_emulator.errors import api_error
from o365_emulator.fault_rules import make_rule
from o365_emulator.listing import parse_api_time
from o365_emulator.responses import Reply, json_reply
from o365_emulator.service_health_truth import service_health_answer
from o365_pipeline.content_types import UnknownContentTypeError, content_type_named

if TYPE_CHECKING:
    from o365_emulator.server import Emulator


def control_answer(
    emulator: Emulator, method: str, path: str, query: dict[str, str], body: bytes
) -> Reply:
    """The test-and-demo control surface (no auth; the emulator binds to loopback).

    `GET faults` lists what is on; `POST faults` takes `[{"kind": ..., ...}]` (or one
    object) and switches it on; `DELETE faults` switches everything off; `POST clock` takes
    `{"offset_seconds": N}` to skew the server clock (and its `Date` header); `GET requests`
    counts the requests answered so far by kind.
    """
    if path == "faults" and method == "GET":
        return json_reply(200, _fault_status(emulator))
    if path == "faults" and method == "POST":
        try:
            specs = json.loads(body or b"[]")
            specs = specs if isinstance(specs, list) else [specs]
            rules = [make_rule(**spec) for spec in specs]
        except (ValueError, TypeError) as error:
            return json_reply(400, {"error": "bad_fault", "error_description": str(error)})
        emulator.add_faults(*rules)
        return json_reply(200, _fault_status(emulator))
    if path == "faults" and method == "DELETE":
        emulator.clear_faults()
        return json_reply(200, _fault_status(emulator))
    if path == "clock" and method == "POST":
        try:
            emulator.clock.set_offset(float(json.loads(body)["offset_seconds"]))
        except (ValueError, KeyError, TypeError):
            return json_reply(
                400, {"error": "bad_clock", "error_description": 'send {"offset_seconds": N}'}
            )
        return json_reply(200, {"offset_seconds": emulator.clock.offset_seconds})
    if path == "ground-truth" and method == "GET":
        return _ground_truth_reply(emulator, query)
    if path == "planted-patterns" and method == "GET":
        return _planted_patterns_reply(emulator, query)
    if path == "health" and method == "GET":
        return json_reply(200, {"status": "ok"})
    if path == "requests" and method == "GET":
        return json_reply(200, _request_counts(emulator))
    if path.startswith("service-health/"):
        return service_health_answer(emulator, method, path.removeprefix("service-health/"), query)
    return json_reply(404, {"error": "not_found", "error_description": f"No route {path}"})


def _request_counts(emulator: Emulator) -> dict:
    """Requests answered so far by kind (a benchmark compares them with the minimum)."""
    counts = {"listing_pages": 0, "blobs": 0, "other": 0}
    for request in emulator.requests():
        if request.path.endswith("/subscriptions/content"):
            counts["listing_pages"] += 1
        elif "/activity/feed/audit/" in request.path:
            counts["blobs"] += 1
        else:
            counts["other"] += 1
    return counts


def _fault_status(emulator: Emulator) -> dict:
    return {
        "faults": emulator.faults.active()
        + [rule.describe() for rule in emulator.content_switches.values()],
        "hits": dict(emulator.faults.hits),
        "clock_offset_seconds": emulator.clock.offset_seconds,
    }


def _ground_truth_reply(emulator: Emulator, query: dict[str, str]) -> Reply:
    """`GET /_emulator/ground-truth?tenantId&contentType&startTime&endTime` (no auth)."""
    for name in ("tenantId", "contentType", "startTime", "endTime"):
        if not query.get(name.lower()):
            return api_error("AF20001", name=name)
    start, end = parse_api_time(query["starttime"]), parse_api_time(query["endtime"])
    if start is None or end is None:
        name = "startTime" if start is None else "endTime"
        return api_error("AF20002", name=name, expected="datetime")
    try:
        content_type = content_type_named(query["contenttype"]).name
    except UnknownContentTypeError:
        return api_error("AF20020", content_type=query["contenttype"])
    ids = sorted(emulator.ground_truth(query["tenantid"], content_type, start, end))
    return json_reply(200, {"count": len(ids), "ids": ids})


def _planted_patterns_reply(emulator: Emulator, query: dict[str, str]) -> Reply:
    """`GET /_emulator/planted-patterns?tenantId&startTime&endTime` (no auth): the attack
    patterns planted in the tenant's availability hours startTime ≤ hour < endTime, each with
    the rule that should find it and the Ids of its records.
    """
    for name in ("tenantId", "startTime", "endTime"):
        if not query.get(name.lower()):
            return api_error("AF20001", name=name)
    start, end = parse_api_time(query["starttime"]), parse_api_time(query["endtime"])
    if start is None or end is None:
        name = "startTime" if start is None else "endTime"
        return api_error("AF20002", name=name, expected="datetime")
    patterns = emulator.planted_patterns(query["tenantid"], start, end)
    return json_reply(
        200, {"count": len(patterns), "patterns": [pattern.as_json() for pattern in patterns]}
    )
