"""Hostile bodies above the size at which blobs are split: each one fails as one typed error
naming the blob, never a raw UnicodeDecodeError or RecursionError."""

from datetime import UTC, datetime

import pytest

from o365_pipeline.records.blob_reader import MalformedBlobError, read_blob_batches
from o365_pipeline.records.blob_splitter import SPLIT_ABOVE_BYTES

RECORD = b'{"Id":"a","CreationTime":"2026-12-01T00:00:00","Operation":"x","RecordType":1},'
FILLER = RECORD * (SPLIT_ABOVE_BYTES // len(RECORD) + 10)  # past the split size on its own
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"[" + FILLER + b'{"Id":"\xff\xfe"}]', "not UTF-8"),
        (b"[" + FILLER + b'{"Id":"z","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}]", "deeply"),
        (b"[" + b"[" * SPLIT_ABOVE_BYTES + b"]" * SPLIT_ABOVE_BYTES + b"]", "deeply"),
        (b"[" + FILLER + b'{"Id":"cut here}]', "Unterminated string"),
        (b'[{"Id":"q","p":"' + b"x" * (17 << 20) + b'"}]', "longer than 16 MB"),
        (b"[" + FILLER + b'{"NoId":1}]', "no string Id"),
    ],
    ids=["not-utf8", "deep-in-record", "deep-only", "open-string", "huge-element", "no-id"],
)
def test_a_large_hostile_body_is_one_typed_error_naming_the_blob(tmp_path, body, named):
    path = tmp_path / "blob.json"
    path.write_bytes(body)
    with pytest.raises(MalformedBlobError, match=named) as raised:
        for _batch in read_blob_batches(
            path,
            tenant="contoso",
            content_type="Audit.General",
            content_id="blob-0042",
            content_created=NOW,
            ingested_at=NOW,
        ):
            pass
    assert "blob-0042" in str(raised.value)
