"""Tables as people have them, through the API and a real worker: CSV dialects (semicolons with
decimal commas, tabs, bars), encodings (UTF-8 with a byte-order mark, UTF-16, Windows-1252),
Parquet and Excel. Each becomes a ready dataset with the same columns, numbers and categories,
says how it was read, and bad files are refused by name with nothing left behind."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from builder.datasets.storage import incoming_dir
from builder.models import Dataset
from tests.api.conftest import token_client
from tests.datasets.test_ingest_task import wait_until_settled
from tests.workers.helpers import hp, wait_status
from workers.models import TrainingJob

CITIES = ["Zürich", "München", "Besançon", "Malmö"]
COLUMNS = ["Ville", "Température", "Prix", "Classe"]
ROWS = 48


def table_rows() -> list[list[Any]]:
    return [[CITIES[i % 4], i + 0.5, (i % 7) * 1.25, "oui" if i % 2 else "non"] for i in range(ROWS)]


def csv_text(delimiter: str, decimal: str) -> str:
    lines = [delimiter.join(COLUMNS)]
    for row in table_rows():
        lines.append(delimiter.join(str(v).replace(".", decimal) if isinstance(v, float) else v for v in row))
    return "\r\n".join(lines) + "\r\n"


def parquet_bytes() -> bytes:
    columns = list(zip(*table_rows(), strict=True))
    table = pa.table({name: list(values) for name, values in zip(COLUMNS, columns, strict=True)})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def xlsx_bytes(first_sheet: str = "Notes") -> bytes:
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = first_sheet
    notes.append(["Written by hand", "not the data"])
    data = book.create_sheet("Données")
    data.append(COLUMNS)
    for row in table_rows():
        data.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(api: Any, filename: str, content: bytes, options: dict[str, Any]) -> Any:
    body = {"file": SimpleUploadedFile(filename, content), "kind": "tabular", "name": filename,
            "options": json.dumps(options)}  # fmt: skip
    return api.post("/api/datasets/", body, format="multipart")


def assert_the_table(dataset: Dataset) -> None:
    """The same columns, numbers and categories whatever the file's format."""
    assert dataset.status == "ready", dataset.error
    columns = {c["name"]: c for c in dataset.profile["columns"]}
    assert list(columns) == COLUMNS[:3]
    assert columns["Température"]["type"] == "numeric" and columns["Prix"]["type"] == "numeric"
    assert columns["Température"]["min"] == 0.5 and columns["Température"]["max"] == ROWS - 0.5
    assert columns["Prix"]["max"] == 7.5
    assert dataset.class_names == ["non", "oui"] and dataset.profile["rows"] == ROWS
    doc = json.loads((dataset.version_dir / "preprocessing.json").read_text())
    ville = next(f for f in doc["features"] if f["name"] == "Ville")
    assert sorted(ville["categories"]) == sorted(CITIES)


CASES = [
    # (file name, bytes, options, what the profile says was read)
    ("comma.csv", csv_text(",", ".").encode("utf-8-sig"), {},
     {"format": "csv", "delimiter": ",", "encoding": "utf-8-sig", "decimal": "."}),
    ("semicolon.csv", csv_text(";", ",").encode("utf-8"), {},
     {"format": "csv", "delimiter": ";", "encoding": "utf-8", "decimal": ","}),
    ("tabs.tsv", csv_text("\t", ".").encode("utf-8"), {},
     {"format": "csv", "delimiter": "\t", "encoding": "utf-8", "decimal": "."}),
    ("bars.txt", csv_text("|", ",").encode("utf-8"), {},
     {"format": "csv", "delimiter": "|", "encoding": "utf-8", "decimal": ","}),
    ("utf16.csv", csv_text("\t", ",").encode("utf-16"), {},
     {"format": "csv", "delimiter": "\t", "encoding": "utf-16", "decimal": ","}),
    ("windows.csv", csv_text(";", ",").encode("cp1252"), {},
     {"format": "csv", "delimiter": ";", "encoding": "cp1252", "decimal": ","}),
    ("table.parquet", parquet_bytes(), {}, {"format": "parquet"}),
    ("book.xlsx", xlsx_bytes(), {"sheet": "Données"}, {"format": "xlsx", "sheet": "Données"}),
]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_every_dialect_encoding_and_format_becomes_the_same_dataset(
    alice: Any, alice_client: Any, celery_worker: Any
) -> None:
    api = token_client(alice)
    created = []
    for filename, content, options, _ in CASES:
        response = upload(api, filename, content, {"target_column": "Classe", **options})
        assert response.status_code == 201, (filename, response.json())
        created.append(response.json()["id"])
    for (filename, _, _, read_as), pk in zip(CASES, created, strict=True):
        dataset = wait_until_settled(pk)
        assert_the_table(dataset)
        found = dataset.profile["file"]
        assert {k: found.get(k) for k in read_as} == read_as, (filename, found)
        assert api.get(f"/api/datasets/{pk}/").json()["profile"]["file"] == found
    # The page says what was read and what was detected; a Windows-1252 file's sample rows read as written.
    windows = Dataset.objects.get(pk=created[5])
    html = alice_client.get(f"/datasets/{windows.pk}/").content.decode()
    for shown in ("semicolon (;)", "Windows-1252", "comma (,)", "encoding, delimiter, decimal detected", "Besançon"):
        assert shown in html, shown
    book = Dataset.objects.get(pk=created[7])
    assert (
        'Excel workbook · sheet <span data-role="sheet">Données</span>'
        in alice_client.get(f"/datasets/{book.pk}/").content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_chosen_reading_options_win_over_detection(alice: Any, celery_worker: Any) -> None:
    api = token_client(alice)
    # Latin-1 chosen for a file that is Windows-1252 in all it uses; the separator given as "tab".
    content = csv_text("\t", ".").encode("latin-1")
    response = upload(api, "chosen.csv", content, {"delimiter": "tab", "file_encoding": "latin-1", "decimal": "."})
    assert response.status_code == 201, response.json()
    dataset = wait_until_settled(response.json()["id"])
    assert_the_table(dataset)
    read_as = dataset.profile["file"]
    assert read_as["delimiter"] == "\t" and read_as["encoding"] == "iso8859-1" and read_as["detected"] == []
    # The first sheet is read when none is named: here a sheet of notes with no data rows.
    response = upload(api, "notes-first.xlsx", xlsx_bytes(), {})
    assert response.status_code == 201, response.json()
    notes = wait_until_settled(response.json()["id"])
    assert notes.status == "failed" and notes.error == "The file has a header row but no data rows."


@pytest.mark.django_db(transaction=True)
def test_a_semicolon_file_with_decimal_commas_trains(alice: Any, celery_worker: Any) -> None:
    api = token_client(alice)
    response = upload(api, "europe.csv", csv_text(";", ",").encode("cp1252"), {"target_column": "Classe"})
    assert response.status_code == 201, response.json()
    dataset = wait_until_settled(response.json()["id"])
    assert_the_table(dataset)
    spec = {"format": 1, "name": "semicolons", "input": {"shape": dataset.input_shape}, "layers": [
        {"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
        {"id": "out", "type": "Dense", "params": {"units": 2, "activation": "softmax"}}]}  # fmt: skip
    response = api.post("/api/jobs/", {"spec": spec, "dataset": dataset.pk, "framework": "torch",
                                       "hyperparameters": hp(epochs=1, batch_size=8)}, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    job = wait_status(TrainingJob.objects.get(pk=response.json()["id"]), *TrainingJob.FINISHED, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.evaluation["class_names"] == ["non", "oui"]
    # A row as the file has it (numbers now with points) predicts through the same preprocessing.
    answer = api.post(f"/api/jobs/{job.pk}/predict/", {"row": {"Ville": "Besançon", "Température": 3.5,
                                                               "Prix": 2.5}}, format="json")  # fmt: skip
    assert answer.status_code == 200, answer.json()
    assert set(answer.json()["predictions"][0]["probabilities"]) == {"non", "oui"}


def _damaged_parquet() -> bytes:
    data = parquet_bytes()
    return data[: len(data) // 2]  # cut short: the footer is gone


def _parquet_with_lists() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"tags": [["a", "b"], ["c"]], "y": ["x", "z"]}), out)
    return out.getvalue()


BAD_UPLOADS = [
    ("cut.parquet", _damaged_parquet(), {}, "file", "Parquet file but cannot be read"),
    ("lists.parquet", _parquet_with_lists(), {}, "file", "Column 'tags' holds list<element: string> values"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, {}, "file", "Excel 97-2003 workbook (.xls). Save it as"),
    ("sheet.ods", b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet", {}, "file",
     "OpenDocument spreadsheet (.ods). Save it as an Excel workbook (.xlsx)"),
    ("book.xlsx", xlsx_bytes(), {"sheet": "Sales"}, "sheet", "no sheet 'Sales'. Its sheets are: 'Notes', 'Données'"),
    ("broken.xlsx", b"PK\x03\x04" + b"xl/" + b"\x00" * 200, {}, "file", "Excel workbook but cannot be read"),
    ("t.csv", csv_text(";", ",").encode(), {"delimiter": ":"}, "delimiter", 'Choose ",", ";"'),
    ("t.csv", csv_text(";", ",").encode(), {"decimal": "comma"}, "decimal", 'Choose "." or ","'),
    ("t.csv", csv_text(";", ",").encode(), {"file_encoding": "base64"}, "file_encoding", "text encoding"),
    ("t.csv", csv_text(";", ",").encode(), {"sheet": ""}, "sheet", "name of a sheet"),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("filename", "content", "options", "field", "message"), BAD_UPLOADS,
                         ids=[f"{c[0]}-{c[3]}" for c in BAD_UPLOADS])  # fmt: skip
def test_bad_files_and_options_are_refused_by_name_leaving_nothing(
    alice_api: Any, filename: str, content: bytes, options: dict[str, Any], field: str, message: str
) -> None:
    before = set(incoming_dir().iterdir())
    response = alice_api.post("/api/datasets/", {"file": SimpleUploadedFile(filename, content), "kind": "tabular",
                                                 "options": json.dumps(options)}, format="multipart")  # fmt: skip
    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert message in errors.get(field, "") or message in errors.get(f"options.{field}", ""), errors
    assert not Dataset.objects.exists()
    assert set(incoming_dir().iterdir()) == before


@pytest.mark.django_db(transaction=True)
def test_parquet_damaged_inside_fails_the_dataset_with_its_reason_and_no_files(alice: Any, celery_worker: Any) -> None:
    data = bytearray(parquet_bytes())
    middle = len(data) // 3
    data[middle : middle + 64] = b"\xff" * 64  # the footer reads; a column chunk does not
    response = upload(token_client(alice), "damaged.parquet", bytes(data), {})
    assert response.status_code == 201, response.json()
    dataset = wait_until_settled(response.json()["id"])
    assert dataset.status == "failed" and "The Parquet file could not be read to the end" in dataset.error
    assert not dataset.data_dir.exists() and dataset.source == ""


def inspect(api: Any, content: bytes, options: dict[str, Any] | None = None) -> Any:
    body = {"file": SimpleUploadedFile("head", content), "options": json.dumps(options or {})}
    return api.post("/api/datasets/inspect/", body, format="multipart")


@pytest.mark.django_db
@pytest.mark.parametrize(("filename", "content", "options", "read_as"), CASES, ids=[c[0] for c in CASES])
def test_inspect_answers_what_ingestion_reads_from_the_first_bytes(
    alice_api: Any, filename: str, content: bytes, options: dict[str, Any], read_as: dict[str, Any]
) -> None:
    """What the upload page sends: a CSV's first 64 KiB (here the file is padded past it), a whole
    Parquet or Excel file. The answer has the same reading as the dataset's profile, and the columns."""
    if read_as["format"] == "csv":
        content = content * 40  # past 64 KiB: only the first 64 KiB are sent, as the page does
        content = content[: 64 * 1024]
    response = inspect(alice_api, content, options)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {k: body.get(k) for k in read_as} == read_as
    assert body["columns"] == COLUMNS
    if read_as["format"] == "xlsx":
        assert body["sheets"] == ["Notes", "Données"]
    if read_as["format"] == "csv":
        expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16le", "cp1252": "windows-1252"}
        assert body["browser_encoding"] == expected[read_as["encoding"]]


@pytest.mark.django_db
def test_inspect_refuses_bad_files_and_options_by_name(alice_api: Any, client: Any) -> None:
    answer = inspect(alice_api, xlsx_bytes(), {"sheet": "Sales"})
    assert answer.status_code == 400 and "Its sheets are: 'Notes', 'Données'" in answer.json()["errors"][0]["message"]
    assert answer.json()["errors"][0]["field"] == "sheet"
    answer = inspect(alice_api, _damaged_parquet())
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "file"
    answer = inspect(alice_api, b"a;b\n1;2\n", {"delimiter": "::"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "delimiter"
    assert client.post("/api/datasets/inspect/", {}).status_code in (401, 403)
