"""Replayed tenants: exported records served unchanged, each once, laid out over recent hours."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from o365_emulator.content_ids import parse_content_id
from o365_emulator.replay import ReplayedTenants, ReplayFileError
from o365_emulator.synthetic import BlobSpec
from o365_pipeline.content_types import CONTENT_TYPES, content_type_named
from o365_pipeline_tests.corpus import corpus, corpus_file
from o365_pipeline_tests.fixtures import TENANT_ID

NOW = datetime(2026, 3, 10, 12, 34, 56, tzinfo=UTC)
HOURS = 24
FIRST_HOUR = datetime(2026, 3, 9, 12, tzinfo=UTC)
OTHER_TENANT = "00000000-0000-4000-8000-000000000001"


def _replay(files, **overrides) -> ReplayedTenants:
    return ReplayedTenants(files, now=lambda: NOW, hours=HOURS, **overrides)


def _all_blobs(replay, tenant=TENANT_ID, hours=HOURS) -> list[BlobSpec]:
    return [
        blob
        for kind in CONTENT_TYPES
        for slot in range(hours)
        for blob in replay.blobs_for_hour(tenant, kind, FIRST_HOUR + timedelta(hours=slot))
    ]


def _served(replay, tenant=TENANT_ID) -> list[dict]:
    return [record for blob in _all_blobs(replay, tenant) for record in replay.records(blob)]


def _file_objects(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _exact(records) -> Counter:
    """Records as text that keeps key order, so equal counters mean equal keys, order, values."""
    return Counter(json.dumps(record) for record in records)


def _record(record_id, creation_time="2024-01-01T00:00:00", record_type=1, **extra) -> dict:
    return {"CreationTime": creation_time, "Id": record_id, "RecordType": record_type, **extra}


def _ndjson(path, records) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.fixture(scope="module")
def corpus_replay():
    return _replay({TENANT_ID: [corpus_file("elastic-o365", "records.ndjson")]}, records_per_blob=2)


@corpus
def test_every_corpus_record_is_served_exactly_once_and_unchanged(corpus_replay):
    originals = _file_objects(corpus_file("elastic-o365", "records.ndjson"))
    served = _served(corpus_replay)
    assert len(originals) == 99
    assert len(served) == len(originals)
    assert _exact(served) == _exact(originals)


@corpus
def test_each_record_is_in_the_content_type_of_its_record_type(corpus_replay):
    for blob in _all_blobs(corpus_replay):
        kind = content_type_named(blob.content_type)
        for record in corpus_replay.records(blob):
            code = int(record["RecordType"])
            if code in (11, 13):
                assert kind.name == "DLP.All"
            elif any(code in other.record_types for other in CONTENT_TYPES):
                assert code in kind.record_types
            else:
                assert kind.name == "Audit.General"


@corpus
def test_record_ids_match_the_records_and_skip_the_record_without_an_id(corpus_replay):
    all_ids = []
    for blob in _all_blobs(corpus_replay):
        records = corpus_replay.records(blob)
        ids = corpus_replay.record_ids(blob)
        assert ids == [record["Id"] for record in records if isinstance(record.get("Id"), str)]
        assert blob.original_records == len(records)
        all_ids += ids
    with_ids = [
        record["Id"]
        for record in _file_objects(corpus_file("elastic-o365", "records.ndjson"))
        if "Id" in record
    ]
    assert sorted(all_ids) == sorted(with_ids) and len(all_ids) == 98


@corpus
def test_records_are_dealt_evenly_over_the_last_complete_hours_in_creation_order(corpus_replay):
    counts = Counter()
    for blob in _all_blobs(corpus_replay):
        counts[blob.hour] += blob.original_records
    assert set(counts) == {FIRST_HOUR + timedelta(hours=slot) for slot in range(HOURS)}
    assert max(counts.values()) - min(counts.values()) <= 1
    by_hour = sorted(
        (blob.hour, record["CreationTime"])
        for blob in _all_blobs(corpus_replay)
        for record in corpus_replay.records(blob)
    )
    latest_before = ""
    for slot in range(HOURS):
        hour = FIRST_HOUR + timedelta(hours=slot)
        times = [created for at, created in by_hour if at == hour]
        assert min(times) >= latest_before
        latest_before = max(times)


@corpus
def test_blobs_are_created_inside_their_hour_and_tile_time_per_content_type(corpus_replay):
    for kind in CONTENT_TYPES:
        blobs = [blob for blob in _all_blobs(corpus_replay) if blob.content_type == kind.name]
        assert blobs
        for blob in blobs:
            assert blob.hour <= blob.content_created < blob.hour + timedelta(hours=1)
            assert blob.content_created <= NOW and blob.content_start < blob.content_created
            assert blob.original_records <= 2
        for previous, current in zip(blobs, blobs[1:], strict=False):
            assert current.content_start == previous.content_created + timedelta(milliseconds=1)


@corpus
def test_content_ids_are_unique_and_parse_to_their_blob(corpus_replay):
    blobs = _all_blobs(corpus_replay)
    assert len({blob.content_id for blob in blobs}) == len(blobs)
    for blob in blobs:
        parsed = parse_content_id(blob.content_id)
        assert parsed is not None
        assert parsed.content_type == content_type_named(blob.content_type)
        assert parsed.content_created == blob.content_created
        assert parsed.content_start == blob.content_start


@corpus
def test_other_tenants_and_hours_outside_the_window_have_no_blobs(corpus_replay):
    kind = content_type_named("Audit.Exchange")
    assert corpus_replay.blobs_for_hour(OTHER_TENANT, kind, FIRST_HOUR) == ()
    assert corpus_replay.blobs_for_hour(TENANT_ID, kind, FIRST_HOUR - timedelta(hours=1)) == ()
    current_hour = FIRST_HOUR + timedelta(hours=HOURS)
    assert corpus_replay.blobs_for_hour(TENANT_ID, kind, current_hour) == ()
    assert corpus_replay.blobs_for_hour(TENANT_ID.upper(), kind, FIRST_HOUR + timedelta(hours=23))


def test_a_json_array_file_serves_the_same_records(tmp_path):
    records = [_record(f"id-{n}", f"2024-01-01T00:0{n}:00") for n in range(5)]
    array = tmp_path / "export.json"
    array.write_text("\n  " + json.dumps(records, indent=2))
    served = _served(_replay({TENANT_ID: [array]}))
    assert served == records
    assert [list(record) for record in served] == [list(record) for record in records]


def test_blobs_hold_at_most_records_per_blob_in_creation_order(tmp_path):
    records = [_record(f"id-{n:02d}", f"2024-01-01T00:{59 - n:02d}:00") for n in range(25)]
    replay = ReplayedTenants(
        {TENANT_ID: [_ndjson(tmp_path / "e.ndjson", records)]},
        now=lambda: NOW,
        hours=1,
        records_per_blob=10,
    )
    last_hour = FIRST_HOUR + timedelta(hours=HOURS - 1)
    blobs = replay.blobs_for_hour(TENANT_ID, content_type_named("Audit.Exchange"), last_hour)
    assert [blob.original_records for blob in blobs] == [10, 10, 5]
    assert [blob.index for blob in blobs] == [0, 1, 2]
    served = [record for blob in blobs for record in replay.records(blob)]
    assert served == records[::-1]


def test_ties_keep_file_order_across_files(tmp_path):
    first = _ndjson(tmp_path / "a.ndjson", [_record("a1"), _record("a2")])
    second = _ndjson(tmp_path / "b.ndjson", [_record("b1"), _record("b2")])
    replay = _replay({TENANT_ID: [second, first]}, records_per_blob=10)
    assert [record["Id"] for record in _served(replay)] == ["b1", "b2", "a1", "a2"]


def test_unknown_and_string_record_types_are_routed_like_the_service(tmp_path):
    records = [
        _record("unknown", record_type=99999),
        _record("not-a-number", record_type="abc"),
        _record("missing-type", record_type=None),
        _record("dlp-string", record_type="13"),
        _record("dlp-number", record_type=11),
        _record("sharepoint-string", record_type="14"),
        _record("aad", record_type=15),
    ]
    replay = _replay({TENANT_ID: [_ndjson(tmp_path / "e.ndjson", records)]})
    placed = {
        record["Id"]: blob.content_type
        for blob in _all_blobs(replay)
        for record in replay.records(blob)
    }
    assert placed == {
        "unknown": "Audit.General",
        "not-a-number": "Audit.General",
        "missing-type": "Audit.General",
        "dlp-string": "DLP.All",
        "dlp-number": "DLP.All",
        "sharepoint-string": "Audit.SharePoint",
        "aad": "Audit.AzureActiveDirectory",
    }


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_text("\n" + json.dumps(_record("x")) + "\n\n   \n" + json.dumps(_record("y")) + "\n")
    assert [record["Id"] for record in _served(_replay({TENANT_ID: [path]}))] == ["x", "y"]


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.ndjson"
    path.write_text(json.dumps(_record("x")) + "\n\n" + '{"Id": "y", \n')
    with pytest.raises(ReplayFileError, match=r"broken\.ndjson, line 3: not valid JSON"):
        _replay({TENANT_ID: [path]})


def test_a_line_that_is_not_an_object_names_the_file_and_line(tmp_path):
    path = tmp_path / "list.ndjson"
    path.write_text(json.dumps(_record("x")) + "\n" + "[1, 2]\n")
    with pytest.raises(ReplayFileError, match=r"list\.ndjson, line 2: a JSON array, not a JSON"):
        _replay({TENANT_ID: [path]})


def test_an_array_element_that_is_not_an_object_names_its_line(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[\n  {"Id": "x"},\n  "text",\n  {"Id": "y"}\n]\n')
    with pytest.raises(ReplayFileError, match=r"export\.json, line 3: a JSON string"):
        _replay({TENANT_ID: [path]})


def test_a_truncated_array_names_the_line(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[\n  {"Id": "x"},\n  {"Id": \n')
    with pytest.raises(ReplayFileError, match=r"export\.json, line 4: not valid JSON"):
        _replay({TENANT_ID: [path]})


def test_each_tenant_replays_only_its_own_files(tmp_path):
    mine = _ndjson(tmp_path / "mine.ndjson", [_record("mine")])
    theirs = _ndjson(tmp_path / "theirs.ndjson", [_record("theirs-1"), _record("theirs-2")])
    replay = _replay({TENANT_ID: [mine], OTHER_TENANT: [theirs]})
    assert [record["Id"] for record in _served(replay)] == ["mine"]
    assert [record["Id"] for record in _served(replay, OTHER_TENANT)] == ["theirs-1", "theirs-2"]
