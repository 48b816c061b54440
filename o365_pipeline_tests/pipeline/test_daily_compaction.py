"""Daily compaction of real 24-hour days of hourly partitions (the emulator's synthetic blobs
written by the pipeline's own partition writer), against the emulator's ground truth."""

import shutil
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from o365_pipeline.pipeline.daily_compaction import (
    DayNotSettledError,
    compact_daily_table,
    day_hours,
    settled_days,
)
from o365_pipeline.pipeline.daily_verification import verify_daily_table
from o365_pipeline.storage import daily_tables
from o365_pipeline.storage.checksum import sha256_of_file
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline_tests.synthetic_days import (
    blob_tables,
    ground_truth,
    land_day,
    long_ago,
    relabelled,
    synthetic_tenants,
    write_hour,
)

EXCHANGE = "Audit.Exchange"
TENANT = "contoso"
DAYS = [long_ago(12) + timedelta(days=offset) for offset in range(3)]


def _now() -> datetime:
    return datetime.now(UTC)


def _compact(layout: DataLayout, day: date, content_type: str = EXCHANGE):
    return compact_daily_table(
        layout, None, tenant=TENANT, content_type=content_type, day=day, clock=_now
    )


def _daily_ids(layout: DataLayout, day: date, content_type: str = EXCHANGE) -> list[str]:
    path = layout.daily_file(content_type, TENANT, day)
    return [row[0] for row in duckdb.sql(f"SELECT Id FROM '{path}'").fetchall()]


@pytest.fixture(scope="module")
def compacted(tmp_path_factory):
    """Three consecutive days landed hour by hour and compacted in order."""
    layout = DataLayout(tmp_path_factory.mktemp("daily") / "data")
    tenants = synthetic_tenants()
    for day in DAYS:
        land_day(layout, tenants, TENANT, EXCHANGE, day)
    reports = [_compact(layout, day) for day in DAYS]
    return layout, tenants, reports


def test_daily_tables_hold_the_emulators_records_once_for_every_settled_day(compacted):
    layout, tenants, _ = compacted
    seen: set[str] = set()
    for day in DAYS:
        ids = _daily_ids(layout, day)
        served = ground_truth(tenants, EXCHANGE, day)
        assert len(ids) == len(set(ids))
        assert set(ids) == served - seen  # re-deliveries of earlier days stay there
        seen |= served
    assert set().union(*(_daily_ids(layout, day) for day in DAYS)) == seen


def test_daily_ledger_proves_every_hourly_record_is_kept_or_a_duplicate(compacted):
    _, _, reports = compacted
    for report in reports:
        ledger = report.ledger
        assert ledger.proof_holds
        assert (ledger.unaccounted_rows, ledger.invented_rows) == (0, 0)
        assert ledger.hours == 24
        assert ledger.duplicates_within_day > 0
    later_days = [report.ledger for report in reports[1:]]
    assert all(ledger.duplicates_of_earlier_days > 0 for ledger in later_days)
    assert all(ledger.farthest_duplicate_days == 1 for ledger in later_days)


def test_daily_file_is_sorted_by_creation_time_in_zstd_row_groups(compacted):
    layout, _, _ = compacted
    path = layout.daily_file(EXCHANGE, TENANT, DAYS[1])
    times = [row[0] for row in duckdb.sql(f"SELECT CreationTime FROM '{path}'").fetchall()]
    assert times == sorted(times)
    codecs = duckdb.sql(f"SELECT DISTINCT compression FROM parquet_metadata('{path}')").fetchall()
    assert codecs == [("ZSTD",)]


def test_compacting_a_day_again_gives_the_same_file(compacted):
    layout, _, reports = compacted
    again = _compact(layout, DAYS[1])
    assert again.ledger.file_sha256 == reports[1].ledger.file_sha256
    assert verify_daily_table(layout, EXCHANGE, TENANT, DAYS[1]).passed


def test_an_interrupted_publish_leaves_the_previous_file(compacted, monkeypatch):
    layout, _, reports = compacted
    target = layout.daily_file(EXCHANGE, TENANT, DAYS[2])

    def killed(temporary, path):
        raise OSError("killed before the rename")

    monkeypatch.setattr(daily_tables, "publish", killed)
    with pytest.raises(OSError, match="killed"):
        _compact(layout, DAYS[2])
    assert sha256_of_file(target) == reports[2].ledger.file_sha256
    assert [path.name for path in target.parent.iterdir()] == ["part.parquet"]


def test_a_redelivery_a_day_later_is_counted_once_whichever_day_compacts_first(tmp_path):
    first, second = long_ago(20), long_ago(19)
    tenants = synthetic_tenants(records_per_hour=4)
    original = blob_tables(tenants, TENANT, EXCHANGE, day_hours(first)[10])[0]
    late_hour = day_hours(second)[9]
    redelivered = relabelled(
        original.slice(0, 1),
        content_id="late-blob",
        content_created=late_hour + timedelta(minutes=30),
    )
    record_id = original.column("Id")[0].as_py()
    landed = DataLayout(tmp_path / "landed")
    for hour in (*day_hours(first), *day_hours(second)):
        tables = {day_hours(first)[10]: [original], late_hour: [redelivered]}.get(hour, [])
        write_hour(landed, TENANT, EXCHANGE, hour, tables)
    for order in ((first, second), (second, first)):
        layout = DataLayout(shutil.copytree(landed.root, tmp_path / f"{order[0]}"))
        reports = {day: _compact(layout, day).ledger for day in order}
        assert _daily_ids(layout, first).count(record_id) == 1
        assert record_id not in _daily_ids(layout, second)
        assert reports[second].duplicates_of_earlier_days == 1
        assert reports[second].rows_written == 0


def test_a_day_with_an_incomplete_hour_is_refused_naming_the_hour(tmp_path):
    layout = DataLayout(tmp_path / "data")
    day = long_ago(20)
    for hour in day_hours(day):
        status = "incomplete" if hour.hour == 7 else "complete"
        if hour.hour != 8:
            write_hour(layout, TENANT, EXCHANGE, hour, [], status=status)
    with pytest.raises(DayNotSettledError, match=r"07:00 is incomplete; 08:00 not landed"):
        _compact(layout, day)
    assert not layout.daily_file(EXCHANGE, TENANT, day).exists()


def test_a_day_within_the_settle_delay_is_refused_with_when_it_settles(tmp_path):
    layout = DataLayout(tmp_path / "data")
    yesterday = _now().date() - timedelta(days=1)
    for hour in day_hours(yesterday):
        write_hour(layout, TENANT, EXCHANGE, hour, [])
    with pytest.raises(DayNotSettledError, match="it settles at .*T02:00Z"):
        _compact(layout, yesterday)


def test_settled_days_are_the_newest_days_past_the_settle_delay():
    now = datetime(2026, 12, 3, 1, 59, tzinfo=UTC)
    delay = timedelta(hours=26)
    assert settled_days(now, settle_delay=delay, count=2) == [
        date(2026, 11, 29),
        date(2026, 11, 30),
    ]
    later = now + timedelta(minutes=1)
    assert settled_days(later, settle_delay=delay, count=1) == [date(2026, 12, 1)]


def test_a_day_sorted_in_time_slices_is_the_same_file(compacted, monkeypatch):
    layout, _, reports = compacted
    cuts = []
    whole = daily_tables._slice_bounds

    def recorded(*args):
        cuts.append(whole(*args))
        return cuts[-1]

    monkeypatch.setattr(daily_tables, "SORT_SLICE_BYTES", 32 * 1024)
    monkeypatch.setattr(daily_tables, "_slice_bounds", recorded)
    again = _compact(layout, DAYS[1])
    assert len(cuts[0]) >= 2
    assert again.ledger.proof_holds
    assert again.ledger.file_sha256 == reports[1].ledger.file_sha256
