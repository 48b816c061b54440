import hashlib
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from o365_pipeline.records.blob_reader import records_table
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.partition_writer import AuditPartitionWriter

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)


def _batch(ids, content_id="blob-1"):
    records = [
        {"Id": record_id, "CreationTime": "2026-11-25T08:30:00", "Operation": "Op"}
        for record_id in ids
    ]
    return records_table(
        records,
        tenant="contoso",
        content_type="Audit.Exchange",
        content_id=content_id,
        content_created=HOUR,
        ingested_at=HOUR,
    )


def test_partition_path_is_hive_style_per_content_type_tenant_date_and_hour(tmp_path):
    path = DataLayout(tmp_path).audit_file("audit.exchange", "contoso", HOUR)
    assert (
        path
        == tmp_path
        / "audit"
        / "content_type=Audit.Exchange"
        / "tenant=contoso"
        / "date=2026-11-25"
        / "hour=09"
        / "part.parquet"
    )


@pytest.mark.parametrize(
    ("content_type", "tenant", "start"),
    [
        ("Audit.Teams", "contoso", HOUR),
        ("Audit.Exchange", "../etc", HOUR),
        ("Audit.Exchange", "contoso", HOUR + timedelta(minutes=5)),
        ("Audit.Exchange", "contoso", HOUR.replace(tzinfo=None)),
    ],
)
def test_paths_are_only_built_from_valid_pieces(tmp_path, content_type, tenant, start):
    with pytest.raises(ValueError):
        DataLayout(tmp_path).audit_file(content_type, tenant, start)


def test_repeated_ids_within_and_across_batches_are_dropped_keeping_the_first(tmp_path):
    path = tmp_path / "part.parquet"
    with AuditPartitionWriter(path) as writer:
        writer.write(_batch(["a", "b", "a"], content_id="first"))
        writer.write(_batch(["b", "c"], content_id="second"))
        result = writer.commit()
    rows = pq.read_table(path).to_pylist()
    assert [(row["Id"], row["content_id"]) for row in rows] == [
        ("a", "first"),
        ("b", "first"),
        ("c", "second"),
    ]
    assert (result.rows_written, result.duplicates_dropped) == (3, 2)


def test_a_writer_that_fails_midway_leaves_the_previous_file_byte_identical(tmp_path):
    path = tmp_path / "part.parquet"
    with AuditPartitionWriter(path) as writer:
        writer.write(_batch(["a"]))
        writer.commit()
    before = path.read_bytes()
    with pytest.raises(RuntimeError), AuditPartitionWriter(path) as writer:
        writer.write(_batch(["x", "y"]))
        raise RuntimeError("crash")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.parquet"]


def test_temporary_files_never_match_the_parquet_glob(tmp_path):
    path = tmp_path / "part.parquet"
    with AuditPartitionWriter(path) as writer:
        writer.write(_batch(["a"]))
        assert list(tmp_path.glob("*.parquet")) == []
        writer.commit()
    assert list(tmp_path.glob("*.parquet")) == [path]


def test_an_empty_partition_is_a_valid_file_with_the_schema(tmp_path):
    path = tmp_path / "part.parquet"
    with AuditPartitionWriter(path) as writer:
        result = writer.commit()
    assert result.rows_written == 0
    assert pq.read_table(path).num_rows == 0


def test_rewriting_the_same_input_yields_the_same_rows(tmp_path):
    path = tmp_path / "part.parquet"
    contents = []
    for _ in range(2):
        with AuditPartitionWriter(path) as writer:
            writer.write(_batch(["a", "b"]))
            writer.commit()
        contents.append(pq.read_table(path).to_pylist())
    assert contents[0] == contents[1]


def test_stale_temporaries_and_spill_folders_of_killed_writers_are_swept(tmp_path):
    import os
    import time

    from o365_pipeline.storage.atomic import STALE_AFTER_SECONDS, sweep_stale_temporaries

    old = time.time() - STALE_AFTER_SECONDS - 60
    stale_file = tmp_path / ".part.parquet-dead.tmp"
    stale_file.write_bytes(b"partial")
    stale_folder = tmp_path / ".ids-dead"
    stale_folder.mkdir()
    (stale_folder / "ids-00000.high").write_bytes(b"\0" * 16)
    fresh_folder = tmp_path / ".ids-live"
    fresh_folder.mkdir()
    for path in (stale_file, stale_folder):
        os.utime(path, (old, old))
    sweep_stale_temporaries(tmp_path)
    assert not stale_file.exists() and not stale_folder.exists()
    assert fresh_folder.exists()  # a writer at work keeps its folder


def test_the_writer_leaves_no_spill_folder_behind(tmp_path):
    target = tmp_path / "part.parquet"
    with AuditPartitionWriter(target) as writer:
        writer.commit()
    assert [path.name for path in tmp_path.iterdir()] == ["part.parquet"]


def test_commit_reports_the_sha256_and_row_count_of_exactly_the_published_bytes(tmp_path):
    path = tmp_path / "part.parquet"
    with AuditPartitionWriter(path) as writer:
        writer.write(_batch(["a", "b", "a", "c"]))
        result = writer.commit()
    assert result.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.file_rows == pq.read_metadata(path).num_rows == 3
