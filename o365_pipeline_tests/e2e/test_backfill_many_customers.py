"""A service provider's one-command backfill of several customers, in real-tenant mode: the
standalone emulator reached through the shared app's settings, `o365-pipeline backfill --all
--parallel 2` run as a separate process, and every customer's landed Ids compared with the
emulator's ground truth for the windows its partitions say it covered.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from o365_pipeline_tests.standalone_microsoft import (
    CUSTOMER,
    SECOND_CUSTOMER,
    ground_truth,
    landed_ids,
    real_deployment,
    run_cli,
)

HOURS = 2


def test_every_customer_is_backfilled_by_one_command_two_runs_at_a_time(tmp_path, microsoft):
    data_dir = tmp_path / "data"
    shell = real_deployment(microsoft, data_dir)
    for name, tenant_id in (("acme", CUSTOMER), ("globex", SECOND_CUSTOMER)):
        added = run_cli(tmp_path, shell, "tenants", "add", name, tenant_id)
        assert added.returncode == 0, added.stderr

    done = run_cli(tmp_path, shell, "backfill", "--all", "--hours", str(HOURS), "--parallel", "2")

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{2 * HOURS} window(s) landed, 0 failed" in done.stdout
    assert f"acme: {HOURS} window(s) landed, 0 failed" in done.stdout
    assert f"globex: {HOURS} window(s) landed, 0 failed" in done.stdout
    for name, tenant_id in (("acme", CUSTOMER), ("globex", SECOND_CUSTOMER)):
        windows = _windows_landed(data_dir, name)
        assert len(windows) == HOURS, windows
        ids = landed_ids(data_dir, name)
        assert len(ids) == len(set(ids)), f"{name}: an Id landed twice"
        assert set(ids) == ground_truth(microsoft, tenant_id, windows)
    # Both customers covered the same windows: they are computed once for the command.
    assert _windows_landed(data_dir, "acme") == _windows_landed(data_dir, "globex")


def test_an_unknown_customer_is_refused_before_any_run(tmp_path, microsoft):
    shell = real_deployment(microsoft, tmp_path / "data")
    assert run_cli(tmp_path, shell, "tenants", "add", "acme", CUSTOMER).returncode == 0

    done = run_cli(tmp_path, shell, "backfill", "acme", "initech", "--parallel", "2")

    assert done.returncode != 0
    assert "initech" in done.stderr and "Traceback" not in done.stderr
    assert not list((tmp_path / "data").glob("audit/*/*/*/*/part.parquet"))


def _windows_landed(data_dir, name: str) -> list[datetime]:
    """The distinct windows (date, hour) of the customer's audit partitions."""
    files = [str(path) for path in data_dir.glob(f"audit/*/tenant={name}/*/*/part.parquet")]
    with duckdb.connect() as connection:
        rows = connection.execute(
            f"SELECT DISTINCT date, hour FROM read_parquet({files!r}, hive_partitioning = true) "
            "ORDER BY ALL"
        ).fetchall()
    return [
        datetime.fromisoformat(str(day)).replace(hour=int(hour), tzinfo=UTC) for day, hour in rows
    ]
