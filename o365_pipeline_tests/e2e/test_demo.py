import subprocess
import sys

from o365_emulator.embedded import stop_embedded_emulator

OTHER_TENANT = "6d2f8a1c-4b3e-4f5a-9c7d-0e1f2a3b4c5d"


def test_demo_lands_exactly_the_emulator_ground_truth(tmp_path):
    """With another customer registered first: the demo still runs and checks its own tenants."""
    registered = subprocess.run(
        [sys.executable, "-m", "o365_pipeline.cli", "tenants", "add", "acme", OTHER_TENANT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert registered.returncode == 0, registered.stderr
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "o365_pipeline.cli",
            "demo",
            "--data-dir",
            str(tmp_path / "data"),
            "--hours",
            "2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    stop_embedded_emulator(tmp_path / "data" / ".emulator")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "nothing lost, nothing duplicated" in completed.stdout
    assert "Demo tenants: contoso, fabrikam" in completed.stdout
    assert not list((tmp_path / "data" / "audit").glob("*/tenant=acme"))
    assert list((tmp_path / "data" / "audit").glob("**/part.parquet"))
    assert (tmp_path / "data" / "dagster_home").is_dir()
