"""How a table file is recognised from its own bytes (builder/datasets/tablefile.py): the
separator, the decimal mark, the encoding and the format, each from the first 64 KiB."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.datasets import tablefile
from builder.datasets.errors import DatasetError, OptionsError
from builder.datasets.kinds import get_kind
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from builder.datasets.tablefile import DETECT_BYTES, detect_head, file_format, guess_single_byte
from tests.api.test_table_formats import parquet_bytes, xlsx_bytes


def reading(text: str, encoding: str = "utf-8", **options: str) -> tuple[str, str, str]:
    found = detect_head(text.encode(encoding), options)
    return found.delimiter, found.encoding, found.decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", (",", "utf-8", ".")),
        ("a;b;c\n1,5;2;3\n4;5,25;6\n", (";", "utf-8", ",")),
        ("a\tb\n1.5\t2\n", ("\t", "utf-8", ".")),
        ("a|b\n-0,25|2\n", ("|", "utf-8", ",")),
        # commas inside quoted values do not make the file comma separated
        ('name;note\n"Smith, John";"a, b, c"\n"Doe, Jane";"d, e"\n', (";", "utf-8", ".")),
        # a semicolon inside a quoted comma-separated value does not either
        ('x,note,y\n1,"a;b",2\n3,"c;d",4\n', (",", "utf-8", ".")),
    ],
)
def test_the_separator_and_the_decimal_mark(text: str, expected: tuple[str, str, str]) -> None:
    assert reading(text) == expected


def test_a_thousands_grouping_alone_is_not_a_decimal_comma() -> None:
    assert reading("a;b\n1,000;2\n12,500;3\n")[2] == "."
    assert reading("a;b\n1,000;2\n12,5;3\n")[2] == ","  # one clear decimal comma decides
    assert reading("a;b\n1234,567;2\n")[2] == ","


def test_the_encoding_from_marks_utf8_and_single_byte_text() -> None:
    text = "Ville;Prix\nBesançon;3,5\nZürich;4,25\nMalmö;1,5\n"
    assert reading(text, "utf-8-sig")[1] == "utf-8-sig"
    assert reading(text, "utf-16")[1] == "utf-16"
    assert reading(text, "utf-16-le")[1] == "utf-16-le"  # no mark: ASCII with zero bytes between
    assert reading(text, "cp1252")[1] == "cp1252"
    assert guess_single_byte("имя,город\nИван,Москва\nПётр,Санкт-Петербург\n".encode("cp1251")) == "cp1251"


def test_a_utf8_character_cut_by_the_64_kib_window_is_still_utf8() -> None:
    head = ("ab,c\n" + "é,1\n" * DETECT_BYTES).encode()[:DETECT_BYTES]
    assert head[-1:] == b"\xc3"  # the window ends inside "é"
    assert detect_head(head, {}).encoding == "utf-8"


def test_chosen_options_win_and_are_not_reported_as_detected() -> None:
    found = detect_head("a;b\n1,5;2\n".encode("cp1252"), {"delimiter": ",", "file_encoding": "latin-1"})
    assert (found.delimiter, found.encoding, found.decimal) == (",", "iso8859-1", ".")
    assert found.detected == ("decimal",)


def test_the_format_from_the_first_bytes() -> None:
    assert file_format(b"PAR1\x15\x04") == "parquet"
    assert file_format(b"PK\x03\x04....[Content_Types].xml....xl/workbook.xml") == "xlsx"
    assert file_format(b"PK\x03\x04....word/document.xml") == "csv"  # not a workbook: refused as a table later
    assert file_format(b"a,b\n1,2\n") == "csv"


def test_a_big_workbook_is_not_loaded_within_the_request_and_its_columns_are_checked_at_ingestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "upload.csv"
    source.write_bytes(xlsx_bytes())
    options = validate_options("tabular", {"sheet": "Données", "target_column": "Prix HT"})
    with pytest.raises(OptionsError) as caught:
        get_kind("tabular").check_upload(source, options, Limits())
    assert "There is no column 'Prix HT'" in caught.value.errors["target_column"]
    monkeypatch.setattr(tablefile, "INSPECT_MAX_BYTES", source.stat().st_size - 1)  # now "big"
    get_kind("tabular").check_upload(source, options, Limits())  # the sheet is not read within the request
    with pytest.raises(DatasetError, match="There is no column 'Prix HT'. The columns are: 'Ville', 'Température'"):
        materialise("tabular", source, options, tmp_path / "v1", Limits())
    assert not (tmp_path / "v1").exists()


def test_the_plain_copy_of_a_converted_table_counts_against_the_storage_quota(tmp_path: Path) -> None:
    source = tmp_path / "upload.csv"
    source.write_bytes(parquet_bytes())
    options = validate_options("tabular", {"target_column": "Classe"})
    with pytest.raises(
        DatasetError, match="Read as a plain table the file takes .* only 100 bytes of your storage quota"
    ):
        materialise("tabular", source, options, tmp_path / "v1", Limits(storage_room_bytes=100))
    room = (tmp_path / "table.csv").stat().st_size + 10  # the copy fits; the arrays then do not
    with pytest.raises(DatasetError, match="arrays would take .* but only 10 bytes of your storage quota is left"):
        materialise("tabular", source, options, tmp_path / "v1", Limits(storage_room_bytes=room))
    result = materialise("tabular", source, options, tmp_path / "v1", Limits(storage_room_bytes=10**9))
    assert result.profile["file"]["format"] == "parquet"


def test_a_chosen_decimal_comma_reads_quoted_values_of_a_comma_separated_file(tmp_path: Path) -> None:
    source = tmp_path / "upload.csv"
    source.write_text("x,y\n" + "".join(f'"{i},5",{"ab"[i % 2]}\n' for i in range(20)))
    options = validate_options("tabular", {"decimal": ","})  # the separator is still detected: a comma
    result = materialise("tabular", source, options, tmp_path / "v1", Limits())
    assert result.profile["file"]["delimiter"] == "," and result.profile["file"]["detected"] == [
        "encoding",
        "delimiter",
    ]
    assert result.profile["columns"][0]["type"] == "numeric" and result.profile["columns"][0]["max"] == 19.5
