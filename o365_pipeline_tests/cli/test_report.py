"""`o365-pipeline report` writes the day's page and prints its path; bad input is one line."""

from pathlib import Path

from o365_pipeline.cli import main


def test_report_prints_the_path_of_the_page_it_wrote(landed_day, capfd):
    code = main(
        ["report", "--tenant", landed_day.tenant, "--day", str(landed_day.day)]
        + ["--data-dir", str(landed_day.root)]
    )
    out, err = capfd.readouterr()

    assert code == 0 and err == ""
    (line,) = out.splitlines()
    page = Path(line)
    assert page == landed_day.layout.report_dir(landed_day.tenant, landed_day.day) / "report.html"
    assert "<h2>Top users</h2>" in page.read_text()


def test_a_tenant_that_is_no_customer_name_is_one_line_naming_the_rule(landed_day, capfd):
    code = main(
        ["report", "--tenant", "../etc", "--day", str(landed_day.day)]
        + ["--data-dir", str(landed_day.root)]
    )
    out, err = capfd.readouterr()

    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("error: Invalid customer name '../etc'")
    assert not (landed_day.root / "etc").exists()
