"""CSV files that once got long, wrong or raw messages now get short ones that say what to do.

Each case is ingested for real (tests/datasets/test_tabular.py's helpers) and the message is
checked for what it says and for its length: nothing of a huge header is echoed back.
"""

from __future__ import annotations

import re

import pytest

from builder.datasets.errors import OptionsError
from builder.datasets.upload import create_dataset_from_upload
from tests.datasets.factories import csv_bytes
from tests.datasets.test_tabular import fails, ingest
from tests.datasets.test_upload import upload

MiB = 1024 * 1024
SHORT = 600  # characters: any message longer than this is not one a person reads


def test_a_50_mib_header_line_is_not_echoed_back(tmp_path):
    data = b"x" * (50 * MiB) + b",label\n1,a\n2,b\n"
    message = fails(tmp_path, data, "The first line is 50.0 MiB long; a header row may be at most 16.0 MiB")
    assert len(message) < SHORT


def test_a_2_mib_column_name_is_refused_without_echoing_it(tmp_path):
    data = b"y" * (2 * MiB) + b",label\n1,a\n2,b\n"
    message = fails(tmp_path, data, "Column 1's name, 'yyyy")
    assert "(2,097,152 characters), is longer than 1,000 characters" in message
    assert len(message) < SHORT


def test_long_names_in_the_column_listing_are_cut(tmp_path):
    header = [f"{i}-" + "n" * 900 for i in range(40)] + ["label"]
    message = fails(tmp_path, csv_bytes(header, [[1] * 40 + ["a"], [2] * 40 + ["b"]]), "There is no column 'kind'",
                    target_column="kind")  # fmt: skip
    assert "(902 characters)" in message and "and 21 more" in message
    assert len(message) < 2500  # 20 names of 60 characters, not 40 of 900


def test_a_200_001_column_header_is_counted_right(tmp_path):
    header = ",".join(f"c{i}" for i in range(200_001)).encode()
    message = fails(tmp_path, header + b"\n" + b"1," * 200_000 + b"1\n", "The file has 200,001 columns; the limit is 2,000")
    assert len(message) < SHORT


@pytest.mark.parametrize("quoted", [True, False])
def test_a_50_mib_value_gets_a_clear_message(tmp_path, quoted):
    value = b'"' + b"v" * (50 * MiB) + b'"' if quoted else b"v" * (50 * MiB)
    data = b"a,label\n" + b"".join(f"{i},{'ab'[i % 2]}\n".encode() for i in range(20)) + value + b",a\n3,b\n"
    message = fails(tmp_path, data, "A single value in the file is too large to read")
    assert "straddl" not in message and "block size" not in message
    assert len(message) < SHORT


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolon (;)"), ("\t", "tab"), ("|", "bar (|)")])
def test_another_separator_is_detected_and_read(tmp_path, separator, named):
    rows = [["a", "b", "c", "d", "label"]] + [[i, i + 1, i + 2, i + 3, "xy"[i % 2]] for i in range(10)]
    data = "\n".join(separator.join(str(v) for v in row) for row in rows).encode() + b"\n"
    result = ingest(tmp_path, data)
    assert [c["name"] for c in result.profile["columns"]] == ["a", "b", "c", "d"]
    assert result.profile["file"]["delimiter"] == separator and result.profile["file"]["delimiter_name"] == named


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_read(tmp_path, encoding):
    data = "a,label\n1,x\n2,y\n3,x\n4,y\n5,x\n6,y\n7,x\n8,y\n9,x\n10,y\n".encode(encoding)
    result = ingest(tmp_path, data)
    assert result.class_names == ["x", "y"] and result.profile["columns"][0]["max"] == 10
    assert result.profile["file"]["encoding"] == encoding


def test_a_comma_file_with_semicolons_in_values_still_ingests(tmp_path):
    body = [[i, f"note;{i}", "ab"[i % 2]] for i in range(40)]
    result = ingest(tmp_path, csv_bytes(["x", "note", "label"], body), column_types={"note": "ignore"})
    assert [c["name"] for c in result.profile["columns"]][:2] == ["x", "note"]


@pytest.mark.django_db
def test_the_text_kind_still_names_another_separator_and_utf16_within_the_request(alice, data_root):
    """Tables read every dialect; a text dataset is still a UTF-8 comma CSV, and says so."""
    semicolons = b"text;label\n1;2;x\n3;4;y\n"
    with pytest.raises(OptionsError) as caught:
        create_dataset_from_upload(alice, upload("s.csv", semicolons), "s", "text", {})
    assert "separated by semicolons" in caught.value.errors["file"]
    with pytest.raises(OptionsError) as caught:
        create_dataset_from_upload(alice, upload("u.csv", "text,label\n1,x\n".encode("utf-16")), "u", "text", {})
    assert "UTF-16" in caught.value.errors["file"]


@pytest.mark.parametrize("value", ["1e300", "-1e39"])
def test_a_number_past_float32_names_its_column_and_how_to_fix_it(tmp_path, value):
    rows = [["a", "b", "label"]] + [[value if i == 3 else i, i % 7, "xy"[i % 2]] for i in range(20)]
    message = fails(tmp_path, csv_bytes(rows[0], rows[1:]), re.escape(f"Column 'a' holds {float(value):g}, beyond what"))
    assert "Rescale the column" in message and len(message) < SHORT


def test_a_value_that_overflows_once_standardised_is_a_dataset_message(tmp_path):
    # Training rows nearly constant (a tiny standard deviation): 1e37 elsewhere passes float32 once standardised.
    rows = [[1 + (i % 3) * 1e-9 if i != 3 else 1e37, i % 7, "xy"[i % 2]] for i in range(20)]
    message = fails(tmp_path, csv_bytes(["a", "b", "label"], rows), re.escape("Column 'a': 1e+37 is too large for the model"))
    assert "rescale that column or remove the row" in message
