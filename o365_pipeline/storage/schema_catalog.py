"""The schema catalog: per content type, every RecordType, Operation and field (with the JSON
kinds of its values) seen in landed partitions, kept as one small JSON file so drift can be
reported against history.

Updates merge and replace the file atomically. Two runs finishing at once may each report the
same new name; neither loses the other's names for long, because the next run merges again.
"""

from __future__ import annotations

import json
from pathlib import Path

from o365_pipeline.records.schema_drift import SchemaProfile
from o365_pipeline.storage.atomic import publish, temporary_path_for


def load_catalog(path: Path) -> SchemaProfile | None:
    """The catalog at `path`, or None when no partition was profiled yet."""
    if not path.exists():
        return None
    return SchemaProfile.from_json(json.loads(path.read_text()))


def save_catalog(path: Path, profile: SchemaProfile) -> None:
    """Write the catalog atomically."""
    temporary = temporary_path_for(path)
    temporary.write_text(json.dumps(profile.to_json(), indent=1))
    publish(temporary, path)
