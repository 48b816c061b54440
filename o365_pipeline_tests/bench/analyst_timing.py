"""What the analyst benchmark times: the README's queries through the new `audit` view and
through `audit_old` (the query-time de-duplication `audit` used to be), over the same files.

Each query is run first once (cold: the connection has read no Parquet footer yet), then up to
`repeats` times more, keeping the best; a query slower than `SLOW_SECONDS` is not repeated (the
old view over 30 days takes tens of seconds a run, and one run says enough). The load average
is recorded next to every figure, because the machine is shared.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from o365_pipeline.records.schema import COMMON_COLUMNS, INGESTION_COLUMNS
from o365_pipeline.storage.client_address import client_address_sql, client_port_sql
from o365_pipeline.storage.views import connect
from o365_pipeline.storage.workload_columns import WORKLOAD_VIEWS
from o365_pipeline_tests.bench.analyst_data import load_average

SLOW_SECONDS = 3.0
MEMORY_LIMIT = "6GB"
_OLD_COLUMNS = ", ".join(
    f'"{name}"' for name in (*COMMON_COLUMNS, *INGESTION_COLUMNS, "date", "hour", "raw_json")
)
OLD_AUDIT = (
    f"CREATE OR REPLACE VIEW audit_old AS SELECT {_OLD_COLUMNS}, "
    f"{client_address_sql('ClientIP')} AS client_address, "
    f"{client_port_sql('ClientIP')} AS client_port FROM audit_all "
    "QUALIFY row_number() OVER (PARTITION BY tenant, Id ORDER BY content_created, content_id) = 1"
)
OLD_WORKLOAD_VIEWS = ("sign_ins", "dlp_matches")
QUERIES = {
    "failed sign-ins by client address": (
        "SELECT client_address, count(*) AS failures FROM {audit} "
        "WHERE Operation = 'UserLoginFailed' GROUP BY ALL ORDER BY failures DESC LIMIT 20"
    ),
    "one user's day": (
        "SELECT CreationTime, Workload, Operation, ObjectId FROM {audit} "
        "WHERE UserId = $user AND CreationTime >= $day AND CreationTime < $day + INTERVAL 1 DAY "
        "ORDER BY CreationTime"
    ),
    "one user's hour": (
        "SELECT * FROM {audit} WHERE UserId = $user "
        "AND CreationTime >= $hour AND CreationTime < $hour + INTERVAL 1 HOUR"
    ),
    "files downloaded (raw_json field)": (
        "SELECT raw_json->>'$.SourceFileName' AS file, count(*) FROM {audit} "
        "WHERE Operation = 'FileDownloaded' GROUP BY ALL ORDER BY 2 DESC LIMIT 20"
    ),
    "counts by operation": "SELECT Operation, count(*) FROM {audit} GROUP BY ALL ORDER BY 2 DESC",
    "count(*)": "SELECT count(*) FROM {audit}",
    "sign-ins by result and address": (
        "SELECT result, client_address, count(*) AS sign_ins, count(DISTINCT UserId) AS users "
        "FROM {sign_ins} GROUP BY ALL ORDER BY sign_ins DESC LIMIT 20"
    ),
    "DLP matches by policy and rule": (
        "SELECT policy_name, rule_name, severity, count(*) AS matches, "
        "sum(sensitive_count) AS instances FROM {dlp_matches} GROUP BY ALL ORDER BY matches DESC"
    ),
}
_NEW = {"audit": "audit", **{name: name for name in OLD_WORKLOAD_VIEWS}}
_OLD = {"audit": "audit_old", **{name: f"{name}_old" for name in OLD_WORKLOAD_VIEWS}}


def create_old_views(connection: duckdb.DuckDBPyConnection) -> None:
    """`audit_old`, and the workload views the queries use, over it."""
    connection.execute(OLD_AUDIT)
    for view in WORKLOAD_VIEWS:
        if view.name in OLD_WORKLOAD_VIEWS:
            select = view.select_sql().replace("FROM audit WHERE", "FROM audit_old WHERE")
            connection.execute(f'CREATE OR REPLACE VIEW "{view.name}_old" AS {select}')


def time_queries(root: Path, *, repeats: int, old_timeout: float, scratch: Path) -> dict:
    """Every query through the new views, then (when `old_timeout` > 0) through the old ones,
    each old run interrupted after `old_timeout` seconds, and one tenant-day re-read through
    `audit_old` as the daily compaction would need it. The connection is held to
    `MEMORY_LIMIT` (spilling to `scratch`): the old view's de-duplication of 30M rows took
    21 GB of this 24 GB machine's memory under DuckDB's default limit.
    """
    began = time.perf_counter()
    with connect(root) as connection:
        result: dict = {"views_seconds": time.perf_counter() - began, "load": load_average()}
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute(f"SET temp_directory = '{scratch}'")
        create_old_views(connection)
        params = _parameters(connection)
        sides = [("audit", _NEW, None)] + [("audit_old", _OLD, old_timeout)] * (old_timeout > 0)
        result["queries"] = {name: {} for name in QUERIES}
        for side, names, timeout in sides:
            for name, sql in QUERIES.items():
                figure = _timed(connection, sql.format(**names), params, repeats, timeout)
                result["queries"][name][side] = figure
                print(f"  {root.name} {side} {name}: {figure}", flush=True)
        if old_timeout > 0:
            result["old_view_tenant_day"] = _old_view_tenant_day(
                connection, root, scratch, old_timeout
            )
    return result


def _parameters(connection: duckdb.DuckDBPyConnection) -> dict:
    """A user and a moment of theirs, picked reproducibly from the data."""
    user, moment = connection.execute(
        "SELECT UserId, CreationTime FROM audit WHERE UserId LIKE '%@%' ORDER BY hash(Id) LIMIT 1"
    ).fetchone()
    return {
        "user": user,
        "hour": moment.replace(minute=0, second=0, microsecond=0),
        "day": moment.replace(hour=0, minute=0, second=0, microsecond=0),
    }


def _timed(
    connection: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict,
    repeats: int,
    timeout: float | None,
) -> dict:
    wanted = {key: value for key, value in params.items() if f"${key}" in sql}
    runs, rows, problem = [], 0, None
    for _ in range(1 + repeats):
        start = time.perf_counter()
        try:
            with _interrupted_after(connection, timeout):
                rows = len(connection.execute(sql, wanted).fetchall())
        except duckdb.Error as error:
            problem = f"{type(error).__name__} after {time.perf_counter() - start:.1f} s"
            runs.append(time.perf_counter() - start)
            break
        runs.append(time.perf_counter() - start)
        if runs[0] > SLOW_SECONDS:
            break
    return {
        "first": runs[0],
        "best": min(runs),
        "runs": len(runs),
        "rows": rows,
        "problem": problem,
        "load": load_average(),
    }


@contextmanager
def _interrupted_after(connection: duckdb.DuckDBPyConnection, timeout: float | None):
    """Interrupt the connection's query if it runs longer than `timeout` seconds."""
    if timeout is None:
        yield
        return
    timer = threading.Timer(timeout, connection.interrupt)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _old_view_tenant_day(
    connection: duckdb.DuckDBPyConnection, root: Path, scratch: Path, timeout: float
) -> dict:
    """Re-reading the newest Exchange tenant-day through `audit_old`, sorted, into a file: what
    the daily compaction replaces.
    """
    tenant, day = newest_exchange_day(root)
    start, problem = time.perf_counter(), None
    try:
        with _interrupted_after(connection, timeout):
            connection.execute(
                "COPY (SELECT * FROM audit_old WHERE tenant = ? "
                "AND content_type = 'Audit.Exchange' "
                f"AND date = ? ORDER BY CreationTime) TO '{scratch}/old.parquet'",
                [tenant, day],
            )
    except duckdb.Error as error:
        problem = type(error).__name__
    return {
        "problem": problem,
        "tenant": tenant,
        "day": day,
        "seconds": time.perf_counter() - start,
        "load": load_average(),
    }


def newest_exchange_day(root: Path) -> tuple[str, str]:
    """(tenant, ISO day) of the last Exchange tenant-day, the one both sides work on."""
    folder = sorted((root / "audit").glob("content_type=Audit.Exchange/*/date=*"))[-1]
    return folder.parent.name.split("=", 1)[1], folder.name.split("=", 1)[1]
