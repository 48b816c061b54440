"""Analyst query latency over a week of data: five typical questions, timed through the
project's DuckDB views."""

import time
from pathlib import Path

from o365_pipeline.storage.views import connect

ANALYST_QUERIES = {
    "counts by operation": "SELECT Operation, count(*) FROM audit_all GROUP BY ALL ORDER BY 2 DESC",
    "a user's day": (
        "SELECT CreationTime, Operation, ObjectId FROM audit_all "
        "WHERE UserId = (SELECT any_value(UserId) FROM audit_all WHERE UserId LIKE '%@%') "
        "AND CreationTime >= (SELECT max(CreationTime) - INTERVAL 1 DAY FROM audit_all) "
        "ORDER BY CreationTime"
    ),
    "failed sign-ins by IP": (
        "SELECT ClientIP, count(*) AS failures FROM audit_azure_active_directory "
        "WHERE Operation = 'UserLoginFailed' GROUP BY ALL ORDER BY failures DESC LIMIT 20"
    ),
    "file downloads by user": (
        "SELECT UserId, count(*) FROM audit_sharepoint WHERE Operation = 'FileDownloaded' "
        "GROUP BY ALL ORDER BY 2 DESC LIMIT 20"
    ),
    "DLP summary": (
        "SELECT Workload, Operation, count(*) FROM dlp_all GROUP BY ALL ORDER BY 3 DESC"
    ),
    "distinct records (audit view)": "SELECT count(*) FROM audit",
}


def time_queries(data_dir: Path, repeats: int = 3) -> dict[str, float]:
    """Best-of-`repeats` seconds per query."""
    timings = {}
    with connect(data_dir) as connection:
        for name, sql in ANALYST_QUERIES.items():
            best = float("inf")
            for _ in range(repeats):
                began = time.perf_counter()
                connection.execute(sql).fetchall()
                best = min(best, time.perf_counter() - began)
            timings[name] = best
    return timings
