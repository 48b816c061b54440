"""What the onboarding tests check once `onboard` / `consent-complete` has landed a tenant's
first hours: the window the command reported, and the landed Ids against the emulator's ground
truth for it (through the emulator's control endpoint, over loopback HTTPS)."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline_tests.ground_truth import ground_truth_ids

HTTP_TIMEOUT = 30
_LANDED_WINDOW = re.compile(r"\[1/1\]\s+(\d{4}-\d\d-\d\d \d\d:00) UTC\s+ok")


def landed_window(output: str) -> datetime:
    """The one window the command's progress line reports as landed."""
    found = _LANDED_WINDOW.search(output)
    assert found, f"no landed window in the output:\n{output}"
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def assert_landed_equals_ground_truth(
    data_dir: Path, name: str, tenant_id: str, start: datetime
) -> None:
    """Every content type's landed Ids for the hour at `start` equal what the emulator says
    exists, and that is not nothing.
    """
    endpoint = json.loads((data_dir / ".emulator" / "endpoint.json").read_text())
    layout = DataLayout(data_dir)
    truth = ground_truth_ids(
        endpoint["base_url"], endpoint["ca_cert_path"], tenant_id, [start], timeout=HTTP_TIMEOUT
    )
    files = [str(layout.audit_file(kind.name, name, start)) for kind in CONTENT_TYPES]
    with duckdb.connect() as connection:
        ids = connection.execute(f"SELECT DISTINCT Id FROM read_parquet({files!r})").fetchall()
    assert {row[0] for row in ids} == truth and truth
