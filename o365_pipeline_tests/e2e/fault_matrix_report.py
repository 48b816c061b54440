"""The fault matrix's table: rows are added by the tests, printed once at the end of the run."""

from dataclasses import dataclass


@dataclass(frozen=True)
class MatrixRow:
    fault: str
    partitions: int
    expected: int
    stored: int
    lost: int
    duplicated: int
    altered: int


ROWS: list[MatrixRow] = []


def table() -> list[str]:
    """The rows as an aligned text table."""
    header = (
        "fault",
        "partitions",
        "records expected",
        "records stored",
        "lost",
        "duplicated",
        "altered",
    )
    body = [
        (row.fault, row.partitions, row.expected, row.stored, row.lost, row.duplicated, row.altered)
        for row in ROWS
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body, strict=True)]
    lines = []
    for cells in (header, *body):
        lines.append(
            "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))
        )
    return lines
