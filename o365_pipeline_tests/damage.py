"""Ways a landed Parquet file gets damaged, done to a file in place (tests only)."""

import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def flip_a_data_byte(path: Path) -> None:
    """Invert one byte halfway through the data pages, leaving the footer readable."""
    data = bytearray(path.read_bytes())
    (footer_length,) = struct.unpack("<I", data[-8:-4])
    data_end = len(data) - 8 - footer_length
    data[data_end // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    """Keep only the first half of the file (a copy cut short)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def add_a_row(path: Path) -> None:
    """Rewrite the file as valid Parquet holding one more row (a forged record)."""
    table = pq.read_table(path)
    index = table.schema.get_field_index("Id")
    forged = table.slice(0, 1).set_column(
        index, table.schema.field(index), pa.array(["forged-record"], pa.string())
    )
    pq.write_table(pa.concat_tables([table, forged]), path)


def plant_copy(source: Path, target: Path) -> None:
    """Put a valid Parquet file somewhere no ledger names it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pq.read_table(source), target)
