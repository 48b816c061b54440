"""Verification finds damage by name: every landed file against the ledger's SHA-256 and row
counts, the ledger against the listing, and Parquet files no ledger names."""

import hashlib
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from o365_emulator.fault_rules import make_rule
from o365_pipeline.api.content import ContentBlob
from o365_pipeline.api.windows import Window
from o365_pipeline.pipeline.audit_table import IncompleteWindowError, ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.pipeline.verification import FindingKind, verify_data
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import LEDGER_SCHEMA, read_ledger
from o365_pipeline.storage.listings import load_listing, save_listing
from o365_pipeline_tests.damage import add_a_row, flip_a_data_byte, plant_copy, truncate
from o365_pipeline_tests.landed import CONTOSO, FABRIKAM

NEW_COLUMNS = ("file_path", "file_rows", "file_sha256")


def _now():
    return datetime.now(UTC)


def _kinds_by_path(report):
    return {(finding.path, finding.kind) for finding in report.findings}


def test_a_freshly_landed_dataset_verifies_clean(landed_dataset):
    report = verify_data(landed_dataset.layout)

    assert report.findings == ()
    assert report.clean
    assert report.windows_checked == len(landed_dataset.windows)
    assert report.files_checked == 4 * len(landed_dataset.windows)  # ledger, blobs, listing, audit


def test_the_ledger_records_the_committed_files_path_rows_and_sha256(landed_dataset):
    window = landed_dataset.windows[0]
    audit_file = landed_dataset.audit_file(window)
    entry, _ = read_ledger(
        landed_dataset.layout.ledger_file(window.content_type, window.tenant, window.window_start)
    )

    assert entry.file_path == landed_dataset.relative(audit_file)
    assert entry.file_sha256 == hashlib.sha256(audit_file.read_bytes()).hexdigest()
    assert entry.file_rows == pq.read_metadata(audit_file).num_rows == entry.records_written > 0


def test_one_changed_byte_in_the_data_pages_is_named_as_a_checksum_mismatch(landed_dataset):
    audit_file = landed_dataset.audit_file(landed_dataset.windows[1])
    flip_a_data_byte(audit_file)
    assert pq.read_metadata(audit_file).num_rows > 0  # the footer alone does not show it

    report = verify_data(landed_dataset.layout)

    assert _kinds_by_path(report) == {
        (landed_dataset.relative(audit_file), FindingKind.CHECKSUM_MISMATCH)
    }
    assert "differs from the ledger's" in report.findings[0].line()


def test_a_truncated_file_is_named_as_mismatched_and_unreadable(landed_dataset):
    audit_file = landed_dataset.audit_file(landed_dataset.windows[0])
    truncate(audit_file)

    report = verify_data(landed_dataset.layout)

    path = landed_dataset.relative(audit_file)
    assert _kinds_by_path(report) == {
        (path, FindingKind.CHECKSUM_MISMATCH),
        (path, FindingKind.UNREADABLE),
    }


def test_a_forged_row_is_named_for_its_checksum_and_its_row_count(landed_dataset):
    audit_file = landed_dataset.audit_file(landed_dataset.windows[2])
    rows = pq.read_metadata(audit_file).num_rows
    add_a_row(audit_file)

    report = verify_data(landed_dataset.layout)

    path = landed_dataset.relative(audit_file)
    assert _kinds_by_path(report) == {
        (path, FindingKind.CHECKSUM_MISMATCH),
        (path, FindingKind.ROW_COUNT_MISMATCH),
    }
    (counted,) = [f for f in report.findings if f.kind is FindingKind.ROW_COUNT_MISMATCH]
    assert f"holds {rows + 1} rows" in counted.detail and f"file_rows={rows}" in counted.detail


def test_a_deleted_file_is_named_missing(landed_dataset):
    audit_file = landed_dataset.audit_file(landed_dataset.windows[3])
    audit_file.unlink()

    report = verify_data(landed_dataset.layout)

    assert _kinds_by_path(report) == {
        (landed_dataset.relative(audit_file), FindingKind.MISSING_FILE)
    }


def test_planted_parquet_files_are_named_whether_or_not_their_window_has_a_ledger(
    landed_dataset,
):
    window = landed_dataset.windows[0]
    source = landed_dataset.audit_file(window)
    beside = source.with_name("extra.parquet")
    elsewhere = landed_dataset.layout.audit_file(
        window.content_type, window.tenant, window.window_start - timedelta(hours=5)
    )
    plant_copy(source, beside)
    plant_copy(source, elsewhere)

    report = verify_data(landed_dataset.layout)

    assert _kinds_by_path(report) == {
        (landed_dataset.relative(beside), FindingKind.UNRECORDED_FILE),
        (landed_dataset.relative(elsewhere), FindingKind.UNRECORDED_FILE),
    }


def test_a_damaged_ledger_is_named_instead_of_crashing(landed_dataset):
    window = landed_dataset.windows[1]
    ledger_file = landed_dataset.layout.ledger_file(
        window.content_type, window.tenant, window.window_start
    )
    ledger_file.write_bytes(b"not parquet at all")

    report = verify_data(landed_dataset.layout)

    assert _kinds_by_path(report) == {
        (landed_dataset.relative(ledger_file), FindingKind.UNREADABLE)
    }


def test_a_damaged_listing_is_named_instead_of_crashing(landed_dataset):
    window = landed_dataset.windows[2]
    listing_file = landed_dataset.layout.listing_file(
        window.content_type, window.tenant, window.window_start
    )
    truncate(listing_file)

    report = verify_data(landed_dataset.layout)

    assert _kinds_by_path(report) == {
        (landed_dataset.relative(listing_file), FindingKind.UNREADABLE)
    }


def test_a_listed_blob_without_a_ledger_row_is_named_on_the_listing(landed_dataset):
    window = landed_dataset.windows[0]
    listing_file = landed_dataset.layout.listing_file(
        window.content_type, window.tenant, window.window_start
    )
    listed = load_listing(listing_file)
    late = ContentBlob(
        window.content_type,
        "late-blob",
        "https://example.invalid/late-blob",
        window.window_start,
        window.window_start + timedelta(days=7),
    )
    save_listing(listing_file, [*listed, late], listed_at=window.window_start)

    report = verify_data(landed_dataset.layout)

    assert _kinds_by_path(report) == {
        (landed_dataset.relative(listing_file), FindingKind.LEDGER_MISMATCH)
    }
    assert "late-blob" in report.findings[0].detail


def test_an_old_ledger_without_checksums_still_reads_and_is_reported_unverifiable(
    landed_dataset,
):
    window = landed_dataset.windows[3]
    ledger_file = landed_dataset.layout.ledger_file(
        window.content_type, window.tenant, window.window_start
    )
    table = pq.read_table(ledger_file)
    old = table.drop_columns(list(NEW_COLUMNS))
    assert set(NEW_COLUMNS) <= set(LEDGER_SCHEMA.names) and set(NEW_COLUMNS).isdisjoint(
        old.schema.names
    )
    pq.write_table(old, ledger_file)

    entry, _ = read_ledger(ledger_file)
    report = verify_data(landed_dataset.layout)

    assert (entry.file_path, entry.file_rows, entry.file_sha256) == (None, None, None)
    audit_file = landed_dataset.relative(landed_dataset.audit_file(window))
    assert _kinds_by_path(report) == {(audit_file, FindingKind.NO_CHECKSUM_RECORDED)}


def test_tenant_and_since_limit_the_windows_checked(landed_dataset):
    for window in landed_dataset.windows:
        truncate(landed_dataset.audit_file(window))
    newest = max(window.window_start for window in landed_dataset.windows)

    only_fabrikam = verify_data(landed_dataset.layout, tenant=FABRIKAM.name)
    contoso_newest = verify_data(
        landed_dataset.layout, tenant=CONTOSO.name, since=newest + timedelta(minutes=30)
    )

    assert only_fabrikam.windows_checked == 1
    assert {f.path for f in only_fabrikam.findings} == {
        landed_dataset.relative(landed_dataset.audit_file(w))
        for w in landed_dataset.windows
        if w.tenant == FABRIKAM.name
    }
    assert contoso_newest.windows_checked == 2  # Exchange and SharePoint of the newest hour
    assert all(
        "tenant=contoso" in f.path and f"hour={newest:%H}" in f.path
        for f in contoso_newest.findings
    )


def test_a_failed_window_keeps_verifying_the_good_file_left_in_place(
    emulator, make_client, tmp_path
):
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    window = Window(start, start + timedelta(hours=1))
    client = make_client(max_concurrent_fetches=1)
    client.start_subscription("Audit.Exchange")
    layout = DataLayout(tmp_path)
    where = dict(tenant="contoso", content_type="Audit.Exchange", window=window)
    list_window(client, layout, **where, now=_now())
    ingest_window(client, layout, **where, clock=_now)
    emulator.add_faults(
        make_rule("missing_blob", count=client.settings.retry.missing_blob_attempts)
    )
    with pytest.raises(IncompleteWindowError):
        ingest_window(client, layout, **where, clock=_now)

    entry, _ = read_ledger(layout.ledger_file("Audit.Exchange", "contoso", start))
    report = verify_data(layout)

    assert entry.status == "incomplete" and entry.file_sha256 is not None
    assert report.clean, [finding.line() for finding in report.findings]
    flip_a_data_byte(layout.audit_file("Audit.Exchange", "contoso", start))
    assert [f.kind for f in verify_data(layout).findings] == [FindingKind.CHECKSUM_MISMATCH]
