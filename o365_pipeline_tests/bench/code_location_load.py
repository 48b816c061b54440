"""`python -m o365_pipeline_tests.bench.code_location_load`: what loading the code location costs
in a fresh process, in the phases a code server goes through, printed as one JSON line.

- import: `import o365_pipeline.definitions` (Dagster, the package, the emulator's import);
- resolve: the `@dg.definitions` function called and its repository built (every asset, job,
  schedule and sensor resolved);
- snapshot: the repository snapshot the code server serializes for the UI and the daemon
  (`RepositorySnap`), and its size.
The settings come from the environment the parent set (`partition_scale`).
"""

from __future__ import annotations

import json
import sys
import time


def main() -> int:
    """Load, resolve and snapshot the definitions once; print the phase timings."""
    began = time.perf_counter()
    import o365_pipeline.definitions as composition_root

    imported = time.perf_counter()
    repository = composition_root.defs().get_repository_def()
    repository.get_all_jobs()
    resolved = time.perf_counter()
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster_shared.serdes import serialize_value

    snapshot = serialize_value(RepositorySnap.from_def(repository))
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "import_seconds": round(imported - began, 3),
                "resolve_seconds": round(resolved - imported, 3),
                "snapshot_seconds": round(done - resolved, 3),
                "snapshot_bytes": len(snapshot),
                "assets": len(repository.asset_graph.get_all_asset_keys()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
