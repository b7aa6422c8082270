"""A table upload in any format people hand each other, read as one plain CSV.

Tabular uploads may be a CSV in any common dialect (comma, semicolon, tab or bar separated;
decimal commas; UTF-8 with or without a byte-order mark, UTF-16, Windows-1252 and other
single-byte encodings), a Parquet file or an Excel workbook (.xlsx). What the file is comes
from its own bytes (detect_table), overridable by the upload options ``delimiter``,
``file_encoding``, ``decimal`` and ``sheet``.

A plain file (UTF-8, commas, decimal points) is read in place, as before. Anything else is
converted once, streaming, into a plain UTF-8 CSV next to the stored upload (``table.csv``),
and ingestion, the dataset page and the examples read that: one reading of the data for every
path. Detection reads only the first DETECT_BYTES of a CSV, so the upload page (which sends
the same first bytes to /api/datasets/inspect/) and ingestion always agree.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from builder.datasets.csvsource import (
    ByteScan,
    check_header_names,
    describe_binary,
    not_utf8,
    read_header,
    scan_bytes,
    show_name,
    utf16_byte_order,
)
from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits

DETECT_BYTES = 64 * 1024
DELIMITERS = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "bar (|)"}
DECIMALS = {".": "point (.)", ",": "comma (,)"}
TABLE_NAME = "table.csv"  # the converted plain CSV, beside the stored upload
SNIFF_LINES = 50
_PLAIN_ENCODINGS = frozenset({"utf-8", "utf-8-sig"})
# A number written with a decimal comma: 3,5  -0,25  ,5  1,5e3
_DECIMAL_COMMA = r"^(\s*[+-]?\d*),(\d+(?:[eE][+-]?\d+)?\s*)$"
_DECIMAL_COMMA_RE = re.compile(_DECIMAL_COMMA)


class SheetMissing(DatasetError):
    """The workbook has no sheet of the name the "sheet" option gives."""


@dataclass(frozen=True)
class TableFormat:
    """What the upload is and how it is read; stored in the profile as "file"."""

    format: str  # "csv" | "parquet" | "xlsx"
    delimiter: str = ","
    encoding: str = "utf-8"  # a Python codec name
    decimal: str = "."
    sheet: str | None = None
    detected: tuple[str, ...] = ()  # which of delimiter/encoding/decimal/sheet came from the file, not options

    @property
    def plain(self) -> bool:
        """Read in place: a UTF-8 CSV with commas and decimal points."""
        return (
            self.format == "csv" and self.delimiter == "," and self.encoding in _PLAIN_ENCODINGS and self.decimal == "."
        )

    def describe(self) -> dict[str, Any]:
        """JSON for the profile, the inspect answer and the page."""
        out: dict[str, Any] = {"format": self.format, "detected": list(self.detected)}
        if self.format == "csv":
            out.update(
                delimiter=self.delimiter,
                delimiter_name=DELIMITERS[self.delimiter],
                encoding=self.encoding,
                encoding_name=encoding_name(self.encoding),
                decimal=self.decimal,
                decimal_name=DECIMALS[self.decimal],
            )
        if self.format == "xlsx":
            out["sheet"] = self.sheet
        return out


def encoding_name(codec: str) -> str:
    """How the page names an encoding: 'UTF-8 with a byte-order mark', 'Windows-1252'."""
    if codec == "utf-8-sig":
        return "UTF-8 with a byte-order mark"
    if codec.startswith("cp125"):
        return f"Windows-{codec[2:]}"
    if codec.startswith("iso8859-"):
        return f"ISO-8859-{codec[8:]}" + (" (Latin-1)" if codec == "iso8859-1" else "")
    return codec.upper() if codec.startswith("utf") else codec


def browser_encoding(codec: str, head: bytes = b"") -> str:
    """The WHATWG label a browser's TextDecoder/FileReader uses for the same codec."""
    if codec in _PLAIN_ENCODINGS:
        return "utf-8"
    if codec == "utf-16":
        return "utf-16be" if head.startswith(codecs.BOM_UTF16_BE) else "utf-16le"
    if codec in ("utf-16-le", "utf-16-be"):
        return codec.replace("-le", "le").replace("-be", "be")
    if codec.startswith("cp125"):
        return f"windows-{codec[2:]}"
    if codec.startswith("iso8859-"):
        return f"iso-8859-{codec[8:]}"
    return {"mac-roman": "macintosh", "koi8-r": "koi8-r", "cp866": "ibm866"}.get(codec, codec)


def codec_name(value: str) -> str | None:
    """A text encoding's canonical Python name, or None when Python has no such text codec."""
    try:
        info = codecs.lookup(value)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):  # base64, rot13, zlib...: not text encodings
        return None
    return info.name


def check_format_options(options: dict[str, Any]) -> dict[str, str]:
    """Messages for bad delimiter/file_encoding/decimal/sheet options (None means detect); "tab" becomes a tab."""
    errors: dict[str, str] = {}
    if options.get("delimiter") == "tab":
        options["delimiter"] = "\t"  # what a form (or a shell) can send for a tab
    delimiter, encoding, decimal = options.get("delimiter"), options.get("file_encoding"), options.get("decimal")
    if delimiter is not None and delimiter not in DELIMITERS:
        errors["delimiter"] = 'Choose ",", ";", "\\t" (or "tab") or "|", or leave it out to detect it from the file.'
    if encoding is not None and (not isinstance(encoding, str) or len(encoding) > 40 or not codec_name(encoding)):
        errors["file_encoding"] = (
            'Give a text encoding such as "utf-8", "utf-16", "windows-1252" or "latin-1", '
            "or leave it out to detect it from the file."
        )
    if decimal is not None and decimal not in DECIMALS:
        errors["decimal"] = 'Choose "." or ",", or leave it out (a comma when the separator is a semicolon).'
    sheet = options.get("sheet")
    if sheet is not None and (not isinstance(sheet, str) or not sheet.strip() or len(sheet) > 200):
        errors["sheet"] = "Give the name of a sheet in the workbook, or leave it out to read the first sheet."
    return errors


# --- detection ----------------------------------------------------------------------------
def file_format(head: bytes) -> str:
    """'parquet', 'xlsx' or 'csv', from the file's first bytes."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") and b"xl/" in head:
        return "xlsx"
    return "csv"


def detect_encoding(head: bytes) -> str:
    """The codec a CSV's first bytes are written in: byte-order marks, then UTF-8, then charset-normalizer."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(b"\xff\xfe\x00\x00"):
        return "utf-16"
    if order := utf16_byte_order(head[:64]):
        return f"utf-16-{order.lower()}"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < DETECT_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return guess_single_byte(head)


def guess_single_byte(data: bytes) -> str:
    """charset-normalizer's reading of non-UTF-8 text. Windows-1252 (what spreadsheets export in
    Western Europe and the Americas) whenever it reads the bytes as well as charset-normalizer's
    best guess: short samples of Latin text fit several code pages equally."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    western = from_bytes(data, cp_isolation=["cp1252"]).best()
    if western is not None and (
        best is None or (western.chaos <= best.chaos + 0.05 and western.coherence >= best.coherence - 0.05)
    ):
        return "cp1252"
    return (codec_name(best.encoding) if best is not None else None) or "cp1252"


def _decode_head(head: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(head, final=len(head) < DETECT_BYTES).removeprefix("\ufeff")


def _sample_lines(text: str) -> str:
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut mid-way
    return "".join(lines[:SNIFF_LINES])


def detect_delimiter(text: str) -> str:
    """The separator that splits the sample's lines into the same number of fields (more than one),
    the most fields winning; commas when none does (csv.reader reads quotes as the file's writer meant)."""
    sample = _sample_lines(text)
    best, best_width, best_steady = ",", 1, 0.0
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        steady = sum(w == widths[0] for w in widths) / len(widths)
        if (steady, widths[0]) > (best_steady, best_width):
            best, best_width, best_steady = delimiter, widths[0], steady
    return best


def detect_decimal(text: str, delimiter: str) -> str:
    """',' when the separator is not a comma and the sample has numbers written with a decimal comma.

    "1,000" alone proves nothing (a thousands grouping reads the same): the evidence is a number
    whose comma is followed by other than three digits ("3,5", "12,25") or preceded by more
    than three ("1234,567")."""
    if delimiter == ",":
        return "."
    rows = list(csv.reader(io.StringIO(_sample_lines(text)), delimiter=delimiter))[1:]
    for cell in (cell.strip() for row in rows for cell in row):
        if _DECIMAL_COMMA_RE.match(cell):
            whole, fraction = cell.lstrip("+-").split(",", 1)
            if len(fraction.split("e")[0].split("E")[0]) != 3 or len(whole) > 3:
                return ","
    return "."


def detect_head(head: bytes, options: Mapping[str, Any]) -> TableFormat:
    """How to read a CSV whose first DETECT_BYTES are ``head``; options that are set win."""
    head = head[:DETECT_BYTES]
    detected = []
    encoding = options.get("file_encoding")
    encoding = codec_name(encoding) if encoding else None
    if encoding is None:
        encoding = detect_encoding(head)
        detected.append("encoding")
    text = _decode_head(head, encoding)
    delimiter = options.get("delimiter")
    if delimiter is None:
        delimiter = detect_delimiter(text)
        detected.append("delimiter")
    decimal = options.get("decimal")
    if decimal is None:
        decimal = detect_decimal(text, delimiter)
        detected.append("decimal")
    return TableFormat("csv", delimiter, encoding, decimal, detected=tuple(detected))


def detect_table(path: Path, options: Mapping[str, Any]) -> TableFormat:
    """What the stored upload is and how to read it."""
    with open(path, "rb") as handle:
        head = handle.read(DETECT_BYTES)
    if not head.strip():
        raise DatasetError("The file is empty. Upload a table with a header row and at least one data row.")
    kind = file_format(head)
    if kind == "parquet":
        return TableFormat("parquet")
    if kind == "xlsx":
        return TableFormat("xlsx", sheet=_sheet_name(path, options.get("sheet")),
                           detected=() if options.get("sheet") else ("sheet",))  # fmt: skip
    if head.startswith(b"\xd0\xcf\x11\xe0") or (head.startswith(b"PK\x03\x04") and b"opendocument.spreadsheet" in head):
        which = "an Excel 97-2003 workbook (.xls)" if head.startswith(b"\xd0") else "an OpenDocument spreadsheet (.ods)"
        raise DatasetError(
            f"This file looks like {which}. Save it as an Excel workbook (.xlsx) or a CSV and upload it again."
        )
    if (what := describe_binary(head[:64])) and not utf16_byte_order(head[:64]):
        raise DatasetError(
            f"This file looks like {what}, not a table. Upload a CSV, a Parquet file or an Excel workbook (.xlsx)."
        )
    return detect_head(head, options)


# --- the header ---------------------------------------------------------------------------
def read_table_header(path: Path, fmt: TableFormat, limits: Limits) -> list[str]:
    """The column names, with the same checks for every format."""
    if fmt.plain:
        return read_header(path, limits)
    if fmt.format == "parquet":
        names = _csv_schema(_parquet_file(path).schema_arrow).names
    elif fmt.format == "xlsx":
        names = [_cell_text(v) for v in next(_sheet_rows(path, fmt.sheet), [])]
        while names and not names[-1].strip():
            names.pop()  # cells right of the table that Excel counts as used
    else:
        names = _csv_header(path, fmt)
    if not names or not any(name.strip() for name in names):
        raise DatasetError("The first row is empty: the table needs a header row naming each column.")
    return check_header_names(names, limits)


def request_header(path: Path, options: Mapping[str, Any], limits: Limits) -> list[str] | None:
    """The header for the checks made within the upload request; None for a workbook over
    INSPECT_MAX_BYTES: calamine loads a sheet whole, which the web process does not do for a big
    file (ingestion checks its columns, with the same messages, as a failed dataset)."""
    fmt = detect_table(path, options)
    if fmt.format == "xlsx" and path.stat().st_size > INSPECT_MAX_BYTES:
        return None
    return read_table_header(path, fmt, limits)


def _csv_header(path: Path, fmt: TableFormat) -> list[str]:
    with open(path, "rb") as handle:
        text = _decode_head(handle.read(DETECT_BYTES), fmt.encoding)
    try:
        return next(csv.reader(io.StringIO(text), delimiter=fmt.delimiter), [])
    except csv.Error as exc:
        raise DatasetError(f"The header row could not be read ({exc}). Check its quotes and upload again.") from None


# --- Parquet and Excel --------------------------------------------------------------------
def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(
            f"The file starts like a Parquet file but cannot be read ({str(exc).splitlines()[0][:200]}). "
            "It may be cut short or damaged: write it again (e.g. pandas' to_parquet) and upload the new file."
        ) from None


def _workbook(path: Path) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except _calamine_errors() as exc:
        raise DatasetError(
            f"The file looks like an Excel workbook but cannot be read ({str(exc).splitlines()[0][:200]}). "
            "Open it in your spreadsheet program, save it again as .xlsx and upload the new file."
        ) from None


def _calamine_errors() -> tuple[type[Exception], ...]:
    import python_calamine

    found = (getattr(python_calamine, n, None) for n in ("CalamineError", "PasswordError", "XmlError", "ZipError"))
    return (*(e for e in found if isinstance(e, type)), OSError, ValueError)


def _sheet_name(path: Path, wanted: str | None) -> str:
    names = list(_workbook(path).sheet_names)
    if not names:
        raise DatasetError("The workbook has no sheets.")
    if wanted is None:
        return names[0]
    if wanted not in names:
        shown = ", ".join(show_name(n) for n in names[:20])
        raise SheetMissing(f"The workbook has no sheet {show_name(wanted)}. Its sheets are: {shown}.")
    return wanted


def sheet_names(path: Path) -> list[str]:
    return list(_workbook(path).sheet_names)


def _sheet_rows(path: Path, sheet: str | None) -> Iterator[list[Any]]:
    book = _workbook(path)
    try:
        rows = book.get_sheet_by_name(sheet or book.sheet_names[0]).iter_rows()
        yield from rows
    except _calamine_errors() as exc:
        raise DatasetError(
            f"The sheet {show_name(sheet or '')} could not be read ({str(exc).splitlines()[0][:200]}). "
            "Save the workbook again as .xlsx and upload the new file."
        ) from None
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """An Excel cell as CSV text: numbers as Python writes them (whole numbers without '.0'), dates ISO."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    return str(value)


# --- conversion to a plain CSV ------------------------------------------------------------
def table_path(source: Path | None, options: Mapping[str, Any] | None = None) -> Path | None:
    """The plain CSV a dataset reads: the converted table when the upload needed one, else the upload.

    Without ``options`` the dataset is ready (ingestion converted whatever needed it). With them
    it may not be yet: an upload that still needs converting gives None (nothing to show yet)."""
    if source is None:
        return None
    converted = source.with_name(TABLE_NAME)
    if converted.is_file() or options is None:
        return converted if converted.is_file() else source
    try:
        plain = detect_table(source, options).plain
    except (DatasetError, OSError):
        return None
    return source if plain else None


def prepare_table(source: Path, options: Mapping[str, Any], limits: Limits) -> tuple[Path, TableFormat, ByteScan]:
    """(a plain UTF-8 comma CSV of the upload, how the upload was read, the plain CSV's byte scan).

    A plain upload is scanned once (scan_bytes: UTF-8 validity and whether it can be cut at
    newlines) and read in place; anything else is converted, and the conversion is UTF-8."""
    fmt = detect_table(source, options)
    converted = source.with_name(TABLE_NAME)
    if fmt.plain:
        scan = scan_bytes(source)
        if not scan.invalid_utf8:
            converted.unlink(missing_ok=True)
            return source, fmt, scan
        if "encoding" not in fmt.detected:
            raise not_utf8(scan.invalid_utf8)
        # UTF-8 in the bytes detection reads only: read the whole file in the single-byte encoding its others fit.
        offset = scan.invalid_utf8[0]
        with open(source, "rb") as handle:
            handle.seek(max(offset - DETECT_BYTES // 2, 0))
            fmt = replace(fmt, encoding=guess_single_byte(handle.read(DETECT_BYTES)))
    header = read_table_header(source, fmt, limits)
    partial = converted.with_name(f".{TABLE_NAME}.part")
    try:
        if fmt.format == "parquet":
            _parquet_to_csv(source, partial)
        elif fmt.format == "xlsx":
            _sheet_to_csv(source, fmt.sheet, len(header), partial)
        else:
            _csv_to_csv(source, header, fmt, partial, limits)
        os.replace(partial, converted)
    finally:
        partial.unlink(missing_ok=True)
    # pyarrow's and csv's writers write UTF-8 and quote the header, so the file is not cut at newlines.
    return converted, fmt, ByteScan(None, splittable=False)


def _csv_to_csv(source: Path, header: list[str], fmt: TableFormat, out: Path, limits: Limits) -> None:
    """Streamed: pyarrow parses blocks in the file's dialect (transcoding as it reads); cells stay text,
    except that decimal commas become points."""
    encoding = "utf8" if fmt.encoding in _PLAIN_ENCODINGS else fmt.encoding
    read_options = pacsv.ReadOptions(block_size=limits.csv_block_bytes, use_threads=True, encoding=encoding)
    parse_options = pacsv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=True)
    convert_options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False, null_values=[]
    )
    try:
        reader = pacsv.open_csv(
            source, read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )
        with pacsv.CSVWriter(out, reader.schema) as writer:
            for batch in reader:
                if fmt.decimal == ",":
                    batch = pa.RecordBatch.from_arrays(
                        [pc.replace_substring_regex(column, _DECIMAL_COMMA, r"\1.\2") for column in batch.columns],
                        schema=batch.schema,
                    )
                writer.write_batch(batch)
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"The file is not {encoding_name(fmt.encoding)} text (byte 0x{exc.object[exc.start]:02X} cannot be read "
            f'in it). Choose the file\'s encoding with the file_encoding option (e.g. "utf-8", "windows-1252", '
            '"utf-16") and upload it again.'
        ) from None
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Expected" in message and "columns, got" in message:
            width = len(header)
            shown = DELIMITERS[fmt.delimiter]
            raise DatasetError(
                f"A row does not have {width} values like the header (the separator is {shown}). Every row needs "
                "one value per column; if the separator is wrong, choose it with the delimiter option."
            ) from None
        raise DatasetError(f"The file could not be read: {message.splitlines()[0][:300]}") from None


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    """The Parquet columns as the plain CSV writes them: numbers stay numbers, other scalars become
    text; DatasetError naming a column of lists, structs or raw bytes."""
    targets = []
    for field in schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise DatasetError(
                f"Column {show_name(field.name)} holds {field.type} values; a table needs numbers or text in "
                "each cell. Leave the column out of the Parquet file (or turn it into text) and upload again."
            )
        plain = pa.string() if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)) else kind
        targets.append(pa.field(field.name, plain))
    return pa.schema(targets)


def _parquet_to_csv(source: Path, out: Path) -> None:
    parquet = _parquet_file(source)
    target_schema = _csv_schema(parquet.schema_arrow)
    try:
        with pacsv.CSVWriter(out, target_schema) as writer:
            for batch in parquet.iter_batches(batch_size=65_536):
                columns = [column.cast(field.type) for column, field in zip(batch.columns, target_schema, strict=True)]
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=target_schema))
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(
            f"The Parquet file could not be read to the end ({str(exc).splitlines()[0][:200]}). "
            "It may be cut short or damaged: write it again and upload the new file."
        ) from None


def _sheet_to_csv(source: Path, sheet: str | None, width: int, out: Path) -> None:
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in _sheet_rows(source, sheet):
            cells = [_cell_text(v) for v in row[:width]]
            if not any(cells):
                continue  # a blank row (Excel counts formatted rows as used)
            writer.writerow(cells + [""] * (width - len(cells)))


def public_format(fmt: TableFormat, head: bytes = b"") -> dict[str, Any]:
    """The inspect answer: the format, and for a CSV the browser's name for its encoding."""
    out = fmt.describe()
    if fmt.format == "csv":
        out["browser_encoding"] = browser_encoding(fmt.encoding, head)
    return out


# --- the upload page's preview --------------------------------------------------------------
# What the upload page sends to be inspected: a CSV's first DETECT_BYTES (all detection reads),
# or a whole Parquet or Excel file up to this size (their columns are not at the start).
INSPECT_MAX_BYTES = 16 * 1024 * 1024


def inspect_table(path: Path, options: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    """How the upload page's file will be read, with its columns: the same functions as ingestion,
    on the same bytes, so the page's preview and the dataset agree."""
    fmt = detect_table(path, options)
    columns = read_table_header(path, fmt, limits)
    with open(path, "rb") as handle:
        head = handle.read(64)
    return {
        **public_format(fmt, head),
        "columns": columns,
        "sheets": sheet_names(path) if fmt.format == "xlsx" else [],
    }
