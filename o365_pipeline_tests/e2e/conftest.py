"""End-to-end tests: prints the fault matrix table after the run."""

from .fault_matrix_report import ROWS, table


def pytest_terminal_summary(terminalreporter):
    if ROWS:
        terminalreporter.section("fault matrix: every record Id exactly once, JSON unchanged")
        for line in table():
            terminalreporter.write_line(line)
