"""metrics.csv is spreadsheet-safe; the TensorBoard event files are well-formed records."""

from __future__ import annotations

import csv
import struct

from workers.training.csvexport import write_metrics_csv
from workers.training.tbevents import ScalarWriter, _masked, crc32c


def test_csv_neutralises_formula_cells_and_keeps_numbers(tmp_path):
    path = write_metrics_csv(
        tmp_path / "m.csv",
        [{"epoch": 1, "step": 10, "loss": -0.5, "note": "=HYPERLINK(1)"},
         {"epoch": 2, "step": 20, "loss": 0.25, "note": "+1", "other": "@x", "t": "\tx", "r": "\rx", "m": "-2"}],
    )  # fmt: skip
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0][:4] == ["epoch", "step", "loss", "note"]
    assert rows[1][2] == "-0.5" and rows[2][2] == "0.25"  # numbers stay numbers, even negative ones
    # Formula-like text gets an apostrophe; numbers written as text ("+1", "-2") are numbers to a spreadsheet too.
    assert [cell for cell in rows[1][3:] + rows[2][3:] if cell] == ["'=HYPERLINK(1)", "+1", "'@x", "'\tx", "'\rx", "-2"]


def test_crc32c_known_answer():
    assert crc32c(b"123456789") == 0xE3069283


def test_event_file_records_are_framed_and_checksummed(tmp_path):
    writer = ScalarWriter(tmp_path)
    writer.scalars(1, {"loss": 0.5, "val_accuracy": 0.75})
    data = writer.path.read_bytes()
    records, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        assert struct.unpack_from("<I", data, offset + 8)[0] == _masked(data[offset : offset + 8])
        record = data[offset + 12 : offset + 12 + length]
        assert struct.unpack_from("<I", data, offset + 12 + length)[0] == _masked(record)
        records.append(record)
        offset += 12 + length + 4
    assert len(records) == 2 and b"brain.Event:2" in records[0]
    assert b"loss" in records[1] and struct.pack("<f", 0.75) in records[1]
