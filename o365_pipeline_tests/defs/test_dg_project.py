"""The project loads the way Dagster 1.13 projects are checked: `dg check defs` (CI runs this
test), from the `[tool.dg]` table of pyproject.toml, with no configuration at all."""

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).with_name("dg")
LOAD_SECONDS = 300  # importing Dagster and the code location twice on a loaded 2-core machine


def test_dg_check_defs_loads_every_definition(tmp_path):
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("O365_") and name != "DAGSTER_HOME"
    }
    environment |= {"VIRTUAL_ENV": sys.prefix, "O365_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [str(DG), "check", "defs"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=LOAD_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "All definitions loaded successfully" in output
    assert not (tmp_path / "data" / ".emulator").exists()  # loading starts no emulator
