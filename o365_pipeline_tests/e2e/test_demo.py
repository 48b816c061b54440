import subprocess
import sys

from o365_emulator.embedded import stop_embedded_emulator


def test_demo_lands_exactly_the_emulator_ground_truth(tmp_path):
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
    assert list((tmp_path / "data" / "audit").glob("**/part.parquet"))
    assert (tmp_path / "data" / "dagster_home").is_dir()
