"""`o365-pipeline detections`: one line per finding and a summary line per tenant, exit 1 when
something was found, 0 when nothing was, 2 for a day that is no day."""

import shutil

import pytest

from o365_pipeline.cli import main
from o365_pipeline.detections import load_rules


def _detections(capfd, landing, tmp_path, *options):
    root = tmp_path / "data"
    shutil.copytree(landing.root, root)
    code = main(["detections", "--data-dir", str(root), "--day", str(landing.day), *options])
    out, err = capfd.readouterr()
    return code, out.splitlines(), err


def test_findings_are_printed_one_line_each_and_exit_1(planted_day, capfd, tmp_path):
    code, lines, _ = _detections(capfd, planted_day, tmp_path, "--tenant", planted_day.tenant)

    assert code == 1
    *findings, summary = lines
    assert sorted(line.split()[1] for line in findings) == sorted(r.name for r in load_rules())
    assert summary.startswith(f"{planted_day.tenant} {planted_day.day}: 7 finding(s) → ")
    assert summary.endswith("findings.parquet")


def test_background_activity_prints_only_the_summary_and_exits_0(background_day, capfd, tmp_path):
    code, lines, _ = _detections(capfd, background_day, tmp_path)

    assert code == 0
    assert [line.split(" → ")[0] for line in lines] == [
        f"{background_day.tenant} {background_day.day}: 0 finding(s)"
    ]


def test_a_day_that_is_no_day_is_refused_naming_the_form(capfd, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["detections", "--data-dir", str(tmp_path), "--day", "yesterday"])
    assert exit_info.value.code == 2
    assert "'yesterday' is not a day: write YYYY-MM-DD" in capfd.readouterr().err
