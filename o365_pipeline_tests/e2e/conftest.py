"""End-to-end tests: prints the fault matrix table after the run, and offers the standalone
emulator that real-tenant-mode tests reach through a real deployment's settings."""

from o365_pipeline_tests.standalone_microsoft import certificate, microsoft  # noqa: F401

from .fault_matrix_report import ROWS, table


def pytest_terminal_summary(terminalreporter):
    if ROWS:
        terminalreporter.section("fault matrix: every record Id exactly once, JSON unchanged")
        for line in table():
            terminalreporter.write_line(line)
