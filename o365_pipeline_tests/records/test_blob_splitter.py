"""Cutting a large blob into NDJSON pieces keeps every element's exact text and order, and the
converted rows are the same as without cutting."""

import json
from datetime import UTC, datetime

import pytest

from o365_pipeline.records import blob_splitter, window_records
from o365_pipeline.records.blob_reader import MalformedBlobError, read_blob
from o365_pipeline.records.blob_splitter import BlobShapeError, split_array_file
from o365_pipeline_tests.corpus import corpus, corpus_file

HOUR = datetime(2026, 11, 25, 9, tzinfo=UTC)
TRICKY = [
    '{"Id":"a","Text":"},{ ] [ \\" \\\\ ","Number":1e-7}',
    '{"Id":"b","Nested":{"List":[1,2,{"x":"]"}]},"Unicode":"é→😀"}',
    '  {"Id":"c","N":12345678901234567890}',
    '{"Id":"d","Empty":{},"Arr":[]}',
]


@pytest.fixture(autouse=True)
def tiny_reads(monkeypatch):
    """Reads of 7 bytes put element, string and number boundaries across reads."""
    monkeypatch.setattr(blob_splitter, "_READ_BYTES", 7)


def _pieces_text(pieces):
    return [line for piece in pieces for line in piece.read_text(encoding="utf-8").split("\n")]


def test_elements_keep_their_exact_text_and_order_across_reads(tmp_path):
    blob = tmp_path / "blob.json"
    blob.write_text("[\n" + " ,\n".join(TRICKY) + "\n]\n", encoding="utf-8")
    pieces = split_array_file(blob, tmp_path, piece_bytes=60)
    assert len(pieces) >= 2
    assert _pieces_text(pieces) == [element.strip() for element in TRICKY]


@pytest.mark.parametrize(
    "body, problem",
    [
        ('{"Id":"a"}', "does not start with"),
        ('[{"Id":"a"},{"Id":', "ends before"),
        ('[{"Id":"a"}] trailing', "after the closing"),
        ('[{"Id":"a"},{bad}]', "element at character"),
    ],
)
def test_bodies_that_are_not_one_array_are_refused(tmp_path, body, problem):
    blob = tmp_path / "blob.json"
    blob.write_text(body)
    with pytest.raises(BlobShapeError, match=problem):
        split_array_file(blob, tmp_path)


@corpus
def test_a_cut_blob_converts_to_the_same_rows_as_an_uncut_one(tmp_path, monkeypatch):
    lines = [
        line
        for line in corpus_file("elastic-o365", "records.ndjson").read_text().splitlines()
        if line.strip()
    ]
    lines = [line for line in lines if isinstance(json.loads(line).get("Id"), str)]
    blob = tmp_path / "blob.json"
    blob.write_text("[" + ",".join(lines) + "]")
    context = dict(
        tenant="t",
        content_type="Audit.General",
        content_id="c",
        content_created=HOUR,
        ingested_at=HOUR,
    )
    whole = read_blob(blob, **context)
    monkeypatch.setattr(window_records, "SPLIT_ABOVE_BYTES", 0)
    monkeypatch.setattr(blob_splitter, "PIECE_BYTES", 10_000)
    cut = read_blob(blob, **context)
    assert cut.equals(whole)
    assert cut.column("raw_json").to_pylist() == lines
    assert not list(tmp_path.glob("pieces-*")), "pieces are removed afterwards"


def test_a_malformed_large_blob_is_a_malformed_blob_error(tmp_path, monkeypatch):
    blob = tmp_path / "blob.json"
    blob.write_text('[{"Id":"a"},{"Id":')
    monkeypatch.setattr(window_records, "SPLIT_ABOVE_BYTES", 0)
    with pytest.raises(MalformedBlobError, match="Blob c .*not closed"):
        read_blob(
            blob,
            tenant="t",
            content_type="Audit.General",
            content_id="c",
            content_created=HOUR,
            ingested_at=HOUR,
        )
