import subprocess
import sys
from pathlib import Path

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
    # The emulator's planted patterns in these windows are each found, nothing else flagged.
    assert "Detections (findings by rule):" in completed.stdout
    assert "every planted pattern found, nothing else flagged" in completed.stdout
    assert list((tmp_path / "data" / "detections").glob("tenant=contoso/date=*/findings.parquet"))
    assert "Demo tenants: contoso, fabrikam" in completed.stdout
    reports = [
        line.split(": ", 1)[1]
        for line in completed.stdout.splitlines()
        if line.startswith("  contoso ") and line.endswith("report.html")
    ]
    assert reports and all(Path(report).is_file() for report in reports)
    assert "<html" in Path(reports[0]).read_text().lower()
    assert not list((tmp_path / "data" / "audit").glob("*/tenant=acme"))
    assert list((tmp_path / "data" / "audit").glob("**/part.parquet"))
    assert (tmp_path / "data" / "dagster_home").is_dir()
