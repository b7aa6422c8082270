"""Reading an uploaded CSV file: header checks, encoding checks and streamed record batches.

pyarrow's CSV reader parses in blocks on native threads, so a 1 GiB file streams through
in bounded memory. Its errors are translated here into messages a person can act on.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits, human_bytes
from builder.datasets.preprocessing import MISSING_TOKENS, sniff_image_format

HEADER_PEEK_BYTES = 1024 * 1024
# A header line longer than this is not a header anyone wrote (and csv's field limit is the same).
MAX_HEADER_BYTES = 16 * 1024 * 1024
# Messages quote at most this much of a column name, and list at most this many names.
SHOWN_NAME_CHARS = 60
SHOWN_NAMES = 20
MAX_NAME_CHARS = 1000
_CONVERSION_RE = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'", re.S)

csv.field_size_limit(16 * 1024 * 1024)
T = TypeVar("T")


class ColumnTypeMismatch(Exception):
    """A later block of the file has a value the column's type (guessed from the first block) cannot hold."""

    def __init__(self, column_index: int, value: str) -> None:
        super().__init__(column_index, value)
        self.column_index = column_index
        self.value = value


def show_name(name: str) -> str:
    """A column name as quoted in a message: cut short, so a huge header is never echoed back."""
    if len(name) <= SHOWN_NAME_CHARS:
        return repr(name)
    return f"{name[:SHOWN_NAME_CHARS]!r}... ({len(name):,} characters)"


def show_columns(names: Sequence[str]) -> str:
    """The first few column names for a message, and how many more there are."""
    shown = ", ".join(show_name(n) for n in names[:SHOWN_NAMES])
    return shown + (f" and {len(names) - SHOWN_NAMES:,} more" if len(names) > SHOWN_NAMES else "")


def utf16_byte_order(head: bytes) -> str | None:
    """'LE' or 'BE' when the file starts like UTF-16 text (a byte-order mark, or ASCII with zero bytes between)."""
    if head.startswith(b"\xff\xfe") and not head.startswith(b"\xff\xfe\x00\x00"):
        return "LE"
    if head.startswith(b"\xfe\xff"):
        return "BE"
    pairs = head[: len(head) - len(head) % 2]
    if len(pairs) >= 8 and not any(pairs[1::2]) and all(32 <= b < 127 or b in b"\r\n\t" for b in pairs[0::2]):
        return "LE"
    if len(pairs) >= 8 and not any(pairs[0::2]) and all(32 <= b < 127 or b in b"\r\n\t" for b in pairs[1::2]):
        return "BE"
    return None


def describe_binary(head: bytes) -> str | None:
    """What a non-text file looks like, from its first bytes."""
    image = sniff_image_format(head)
    if image:
        return f"a {image} image"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "a zip archive"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive"
    if b"\x00" in head:
        return "a binary file"
    return None


@dataclass(frozen=True)
class ByteScan:
    invalid_utf8: tuple[int, int] | None  # (offset, byte) of the first non-UTF-8 byte
    # No quotes and no lone CR: every b"\n" ends a row, so the file can be cut at newlines
    # and the pieces parsed on several threads.
    splittable: bool


def scan_bytes(path: Path, chunk_bytes: int = 1024 * 1024) -> ByteScan:
    """One fast pass over the raw bytes: UTF-8 validity, and whether rows can span lines."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    splittable = True
    previous_last = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            try:
                # ASCII is UTF-8: a chunk of it (with no sequence left open before it) needs no decoding.
                if not (chunk.isascii() and not decoder.getstate()[0]):
                    decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                position = max(offset - pending + exc.start, 0)
                return ByteScan((position, exc.object[exc.start] if exc.start < len(exc.object) else 0), False)
            if splittable and b'"' in chunk:
                splittable = False
            if splittable and (b"\r" in chunk or previous_last == b"\r"):  # CRLF is fine; a lone CR is not
                crlf = chunk.count(b"\r\n") + (previous_last == b"\r" and chunk.startswith(b"\n"))
                splittable = chunk.count(b"\r") - chunk.endswith(b"\r") + (previous_last == b"\r") == crlf
            previous_last = chunk[-1:]
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return ByteScan((offset - 1, 0), False)
    return ByteScan(None, splittable)


def find_invalid_utf8(path: Path) -> tuple[int, int] | None:
    return scan_bytes(path).invalid_utf8


def _long_header(path: Path, limits: Limits) -> bytes:
    """The first line when it is longer than HEADER_PEEK_BYTES; refused with its real column count when too wide or long."""
    size = commas = 0
    quoted = False
    line = bytearray()
    with open(path, "rb") as handle:
        while chunk := handle.read(HEADER_PEEK_BYTES):
            end = chunk.find(b"\n")
            part = chunk if end < 0 else chunk[:end]
            size += len(part)
            commas += part.count(b",")
            quoted = quoted or b'"' in part
            if size <= MAX_HEADER_BYTES:
                line += part
            if end >= 0:
                break
    columns = commas + 1  # exact unless names are quoted with commas inside (then an upper bound)
    if columns > limits.max_columns:
        about = "up to " if quoted else ""
        raise DatasetError(
            f"The file has {about}{columns:,} columns; the limit is {limits.max_columns:,}. "
            "Remove the columns the model does not need and upload again."
        )
    if size > MAX_HEADER_BYTES:
        raise DatasetError(
            f"The first line is {human_bytes(size)} long; a header row may be at most {human_bytes(MAX_HEADER_BYTES)}. "
            "Check that the first line is the header (one short name per column) and ends with a line break."
        )
    return bytes(line)


def _other_delimiter(name: str) -> str | None:
    """The separator a one-column header seems to use instead of commas (';', tab or '|')."""
    try:
        dialect = csv.Sniffer().sniff(name[:HEADER_PEEK_BYTES], delimiters=";\t|")
    except csv.Error:
        return None
    return dialect.delimiter if len(name.split(dialect.delimiter)) > 1 else None


def read_header(path: Path, limits: Limits) -> list[str]:
    """The column names, after the checks that need only the start of the file."""
    with open(path, "rb") as handle:
        head = handle.read(HEADER_PEEK_BYTES)
    if not head.strip():
        raise DatasetError("The file is empty. Upload a CSV file with a header row and at least one data row.")
    if order := utf16_byte_order(head[:64]):
        raise DatasetError(
            f"The file is UTF-16 text ({order}); Layerloom reads UTF-8. Save it as 'CSV UTF-8' in your spreadsheet "
            "program (or convert it to UTF-8) and upload it again."
        )
    if what := describe_binary(head[:64]):
        raise DatasetError(f"This file looks like {what}, not a CSV text file.")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut_at_end = len(head) == HEADER_PEEK_BYTES and exc.start >= len(head) - 3
        if not cut_at_end:
            raise not_utf8((exc.start, head[exc.start])) from None
        text = head[: exc.start].decode("utf-8")
    if len(head) == HEADER_PEEK_BYTES and b"\n" not in head:
        line = _long_header(path, limits)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise not_utf8((exc.start, line[exc.start])) from None
    text = text.removeprefix("\ufeff")
    try:
        row = next(csv.reader(io.StringIO(text)), None)
    except csv.Error as exc:
        raise DatasetError(f"The header row could not be read ({exc}). Check its quotes and upload again.") from None
    if not row or not any(name.strip() for name in row):
        raise DatasetError("The first line is empty: the file needs a header row naming each column.")
    if len(row) == 1 and (delimiter := _other_delimiter(row[0])):
        shown = {"\t": "tabs", ";": "semicolons (;)", "|": "bars (|)"}[delimiter]
        raise DatasetError(
            f"The header has a single column, {show_name(row[0])}: the values seem to be separated by {shown}, "
            "not commas. Save the file as 'CSV UTF-8 (comma delimited)' in your spreadsheet program, "
            "or replace the separators with commas, and upload it again."
        )
    return check_header_names(row, limits)


def check_header_names(row: list[str], limits: Limits) -> list[str]:
    """The header's names, refused when too many, unnamed, too long or repeated (every table format)."""
    if len(row) > limits.max_columns:
        raise DatasetError(
            f"The file has {len(row):,} columns; the limit is {limits.max_columns:,}. "
            "Remove the columns the model does not need and upload again."
        )
    for position, name in enumerate(row, start=1):
        if not name.strip():
            raise DatasetError(f"Column {position} has no name in the header row. Give every column a name.")
        if len(name) > MAX_NAME_CHARS:
            raise DatasetError(
                f"Column {position}'s name, {show_name(name)}, is longer than {MAX_NAME_CHARS:,} characters. "
                "Check that the first line is the header row and that its quotes are closed."
            )
    seen: set[str] = set()
    for name in row:
        if name in seen:
            raise DatasetError(
                f"The column name {show_name(name)} appears more than once in the header. Names must be unique."
            )
        seen.add(name)
    return row


def not_utf8(found: tuple[int, int]) -> DatasetError:
    offset, value = found
    return DatasetError(
        f"The file is not UTF-8 text (byte 0x{value:02X} at offset {offset:,}). "
        "Save it as 'CSV UTF-8' in your spreadsheet program and upload it again."
    )


def check_utf8(path: Path) -> ByteScan:
    scan = scan_bytes(path)
    if scan.invalid_utf8:
        raise not_utf8(scan.invalid_utf8)
    return scan


def first_ragged_line(path: Path, width: int) -> tuple[int, int] | None:
    """(line number, values) of the first row whose width differs from the header's; slow, for messages."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        try:
            next(reader, None)
            for row in reader:
                if row and len(row) != width:
                    return reader.line_num, len(row)
        except csv.Error:  # a value past csv's field limit: the caller's general message stands
            return None
    return None


def iter_batches(
    path: Path,
    header: Sequence[str],
    limits: Limits,
    column_types: dict[str, pa.DataType] | None = None,
    include: Sequence[str] | None = None,
    splittable: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Record batches of the chosen columns; raises DatasetError or ColumnTypeMismatch.

    With `splittable` (see scan_bytes) the file is cut at newlines into pieces that pyarrow
    parses on all cores; otherwise its streaming reader, which handles quoted newlines, is used.
    """
    parse_options = pacsv.ParseOptions(newlines_in_values=not splittable, invalid_row_handler=lambda row: "error")
    convert_options = pacsv.ConvertOptions(
        column_types=column_types or {},
        include_columns=list(include) if include is not None else None,
        null_values=list(MISSING_TOKENS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        if splittable:
            # The next piece is parsed while this one's batches are worked on.
            for table in _prefetch(_split_tables(path, limits, parse_options, convert_options)):
                yield from table.to_batches()
        else:
            read_options = pacsv.ReadOptions(block_size=limits.csv_block_bytes, use_threads=True)
            reader = pacsv.open_csv(
                path, read_options=read_options, parse_options=parse_options, convert_options=convert_options
            )
            yield from _prefetch(reader)
    except pa.ArrowInvalid as exc:
        raise translate_error(exc, path, header, limits.csv_block_bytes) from None


def _split_tables(
    path: Path, limits: Limits, parse_options: pacsv.ParseOptions, convert_options: pacsv.ConvertOptions
) -> Iterator[pa.Table]:
    piece_bytes = limits.csv_block_bytes * 2
    read_options = pacsv.ReadOptions(block_size=max(limits.csv_block_bytes // 4, 1 << 20), use_threads=True)
    with open(path, "rb") as handle:
        header_line = handle.readline()
        while True:
            # The header goes in front of every piece; reading into place avoids copying the piece.
            buffer = bytearray(len(header_line) + piece_bytes)
            buffer[: len(header_line)] = header_line
            size = handle.readinto(memoryview(buffer)[len(header_line) :])
            if not size:
                return
            del buffer[len(header_line) + size :]
            if not buffer.endswith(b"\n"):
                buffer += handle.readline()  # finish the row the cut fell in
            table = pacsv.read_csv(
                pa.BufferReader(pa.py_buffer(buffer)),
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            del buffer
            yield table


def _prefetch(reader: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Parse the next blocks (or pieces) on a thread (pyarrow releases the GIL) while the caller works on this one."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in reader:
                while not stop.is_set():
                    try:
                        items.put(("batch", batch), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed over to the consuming thread
            items.put(("error", exc))

    thread = threading.Thread(target=produce, name="csv-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "batch":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.05)
        close = getattr(reader, "close", None)
        if close is not None:
            close()


def translate_error(exc: Exception, path: Path, header: Sequence[str], block_bytes: int = 8 * 1024**2) -> Exception:
    message = str(exc)
    if match := _CONVERSION_RE.search(message):
        return ColumnTypeMismatch(int(match.group(1)), match.group(3))
    if "Expected" in message and "columns, got" in message:
        found = first_ragged_line(path, len(header))
        if found:
            line, width = found
            return DatasetError(
                f"Line {line:,} has {width} values but the header has {len(header)} columns. "
                "Every row needs one value per column (check for unquoted commas)."
            )
        return DatasetError(
            f"A row does not have {len(header)} values like the header. Every row needs one per column."
        )
    if "UTF8" in message or "utf8" in message.lower():
        return not_utf8(find_invalid_utf8(path) or (0, 0))
    if "straddling" in message or "block size" in message:
        return DatasetError(
            f"A single value in the file is too large to read (more than {human_bytes(block_bytes)}), or a "
            'quote (") is never closed so the rest of the file reads as one value. Check the quotes, or keep '
            "very long text out of the CSV, and upload again."
        )
    return DatasetError(f"The CSV file could not be read: {message.splitlines()[0][:300]}")
