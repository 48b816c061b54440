"""`o365-pipeline verify`: one line per finding naming the file, a summary line, exit 0 when
clean, 1 when something differs, 2 for a wrong tenant, time or folder."""

import pytest

from o365_pipeline.cli import main
from o365_pipeline_tests.damage import add_a_row, truncate
from o365_pipeline_tests.landed import FABRIKAM


def _verify(capfd, data_dir, *options):
    code = main(["verify", "--data-dir", str(data_dir), *options])
    out, err = capfd.readouterr()
    return code, out.splitlines(), err


def test_a_clean_dataset_exits_0_with_only_the_summary_line(landed_dataset, capfd):
    code, lines, _ = _verify(capfd, landed_dataset.root)

    windows = len(landed_dataset.windows)
    assert code == 0
    assert lines == [
        f"verify: {windows} windows, {4 * windows} files checked under {landed_dataset.root}: "
        "no findings"
    ]


def test_a_damaged_file_exits_1_and_its_line_names_the_file(landed_dataset, capfd):
    audit_file = landed_dataset.audit_file(landed_dataset.windows[1])
    add_a_row(audit_file)

    code, lines, _ = _verify(capfd, landed_dataset.root)

    path = landed_dataset.relative(audit_file)
    assert code == 1
    assert [line.split(": ", 1)[0] for line in lines[:-1]] == [path, path]
    assert "SHA-256" in lines[0] and "rows" in lines[1]
    assert lines[-1].startswith("verify: ") and ": 2 findings; re-materialize" in lines[-1]


def test_tenant_accepts_the_tenant_id_and_checks_only_that_tenant(landed_dataset, capfd):
    for window in landed_dataset.windows:
        if window.tenant != FABRIKAM.name:
            truncate(landed_dataset.audit_file(window))

    code, lines, _ = _verify(capfd, landed_dataset.root, "--tenant", FABRIKAM.tenant_id)

    assert code == 0
    assert lines[-1].startswith("verify: 1 windows, 4 files checked")


def test_an_unknown_tenant_id_exits_2_with_one_line(landed_dataset, capfd):
    code, lines, err = _verify(
        capfd, landed_dataset.root, "--tenant", "00000000-0000-4000-8000-000000000000"
    )

    assert code == 2 and lines == []
    assert err.startswith("error: No served tenant has id") and err.count("\n") == 1


def test_a_malformed_since_is_a_usage_error(landed_dataset, capfd):
    with pytest.raises(SystemExit) as exited:
        main(["verify", "--data-dir", str(landed_dataset.root), "--since", "yesterday"])

    assert exited.value.code == 2
    assert "is not an ISO 8601 date or time" in capfd.readouterr().err


def test_a_folder_without_landed_data_exits_2(tmp_path, capfd):
    code, lines, err = _verify(capfd, tmp_path / "empty")

    assert code == 2 and lines == []
    assert "No landed data under" in err
