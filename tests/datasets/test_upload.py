"""Uploads: streamed with a sha256 and a cap, stored under our own name, queued on commit,
recognised when repeated, and refused with a per-field message that leaves nothing behind."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser

from builder.datasets.errors import OptionsError
from builder.datasets.upload import HashedUploadedFile, HashingUploadHandler, UploadTooLarge, create_dataset_from_upload
from builder.models import Dataset
from tests.datasets.conftest import files_under
from tests.datasets.factories import image_zip, iris_like, png_bytes, symlink_zip

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def refused(owner, data_root, data: bytes, name: str = "f.csv", kind: str = "tabular", **options) -> dict[str, str]:
    with pytest.raises(OptionsError) as caught:
        create_dataset_from_upload(owner, upload(name, data), "My data", kind, options)
    assert Dataset.objects.count() == 0
    assert files_under(data_root) == []
    return caught.value.errors


def test_upload_creates_a_pending_dataset_and_queues_ingestion_on_commit(
    alice, data_root, enqueued, django_capture_on_commit_callbacks
):
    data = iris_like()
    with django_capture_on_commit_callbacks(execute=True):
        dataset = create_dataset_from_upload(
            alice, upload("../../iris.csv", data), " Iris ", "tabular", {"target_column": "species"}
        )
        assert enqueued == []  # not before the row is committed
    assert enqueued == [dataset.pk]
    assert dataset.status == "pending" and dataset.duplicate is False
    assert dataset.name == "Iris" and dataset.original_filename == "iris.csv"
    assert dataset.sha256 == hashlib.sha256(data).hexdigest() and dataset.size_bytes == len(data)
    assert dataset.source == f"datasets/{dataset.storage_key}/source/upload.csv"
    assert (data_root / dataset.source).read_bytes() == data
    assert dataset.options["split"] is None and dataset.options["target_column"] == "species"  # None: chosen by size
    assert files_under(data_root) == [dataset.source]


def test_identical_reupload_returns_the_existing_dataset(alice, bob, data_root, enqueued):
    first = create_dataset_from_upload(alice, upload("a.csv", iris_like()), "One", "tabular", {})
    again = create_dataset_from_upload(alice, upload("b.csv", iris_like()), "Two", "tabular", {})
    assert again.pk == first.pk and again.duplicate is True
    other_options = create_dataset_from_upload(alice, upload("a.csv", iris_like()), "Three", "tabular", {"seed": 2})
    bobs = create_dataset_from_upload(bob, upload("a.csv", iris_like()), "Bob's", "tabular", {})
    assert len({first.pk, other_options.pk, bobs.pk}) == 3
    assert len(files_under(data_root)) == 3


def test_bad_options_get_a_message_per_field(alice, data_root):
    errors = refused(alice, data_root, iris_like(), split=[0.5, 0.5], encoding="binary", image_size=[8, 8])
    assert set(errors) == {"split", "encoding", "image_size"}
    assert "add up to 1" in refused(alice, data_root, iris_like(), split=[0.5, 0.4, 0.4])["split"]


def test_missing_name_and_unknown_kind(alice, data_root):
    with pytest.raises(OptionsError) as caught:
        create_dataset_from_upload(alice, upload("f.csv", iris_like()), "", "video", {})
    assert set(caught.value.errors) == {"name", "kind"}


def test_target_column_missing_is_refused_at_upload(alice, data_root):
    errors = refused(alice, data_root, iris_like(), target_column="kind")
    assert errors == {"target_column": "There is no column 'kind'. The columns are: 'a', 'b', 'color', 'species'."}


def test_empty_file(alice, data_root):
    assert refused(alice, data_root, b"") == {"file": "The file is empty."}


def test_ten_thousand_columns_refused_at_upload(alice, data_root):
    header = ",".join(f"c{i}" for i in range(10_000)).encode()
    assert "10,000 columns" in refused(alice, data_root, header + b"\n" + b"1," * 9_999 + b"1\n")["file"]


def test_non_utf8_refused_at_upload_as_text(alice, data_root):
    assert "not UTF-8" in refused(alice, data_root, b"text,label\n\xff\xfe,1\n", kind="text")["file"]


def test_png_with_html_appended_uploaded_as_html(alice, data_root):
    polyglot = png_bytes() + b"<html><body><script>alert(1)</script></body></html>"
    as_images = refused(alice, data_root, polyglot, name="page.html", kind="images")
    assert as_images == {
        "file": "This file looks like a PNG image, not a zip archive. Zip one folder per class and upload the .zip."
    }
    assert "looks like a PNG image, not a table" in refused(alice, data_root, polyglot, name="page.html")["file"]


def test_unsafe_zips_are_refused_at_upload(alice, data_root):
    assert "symbolic link" in refused(alice, data_root, symlink_zip(), name="x.zip", kind="images")["file"]
    traversal = image_zip({"a": 2, "b": 2}, extra={"../../x.png": png_bytes()})
    assert "contains '..'" in refused(alice, data_root, traversal, name="x.zip", kind="images")["file"]


def test_upload_over_the_size_limit(alice, data_root, settings):
    settings.LAYERLOOM_MAX_UPLOAD_BYTES = 1000
    assert refused(alice, data_root, iris_like()) == {"file": "The file is larger than the 1,000 bytes upload limit."}


def multipart(data: bytes, boundary: str = "BOUNDARY") -> tuple[dict[str, str], bytes]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    meta = {"CONTENT_TYPE": f"multipart/form-data; boundary={boundary}", "CONTENT_LENGTH": str(len(body))}
    return meta, body


def test_handler_streams_to_disk_with_the_sha256(data_root):
    data = iris_like() * 40  # bigger than one chunk of the parser
    meta, body = multipart(data)
    handler = HashingUploadHandler(None, max_bytes=10**6)
    _, files = MultiPartParser(meta, io.BytesIO(body), [handler]).parse()
    uploaded = files["file"]
    assert isinstance(uploaded, HashedUploadedFile)
    assert uploaded.sha256 == hashlib.sha256(data).hexdigest() and uploaded.size == len(data)
    assert uploaded.path.parent == data_root / "incoming" and uploaded.path.read_bytes() == data
    uploaded.discard()


def test_handler_stops_an_upload_over_the_limit_and_removes_what_it_wrote(data_root):
    # Within the declared-length slack (form overhead), so only the streamed count can stop it.
    meta, body = multipart(b"x" * 150_000)
    handler = HashingUploadHandler(None, max_bytes=100_000)
    with pytest.raises(UploadTooLarge, match="larger than the 97.7 KiB upload limit"):
        MultiPartParser(meta, io.BytesIO(body), [handler]).parse()
    assert files_under(data_root) == []


def test_handler_refuses_from_the_declared_length(data_root):
    meta, body = multipart(b"x" * 300_000)
    with pytest.raises(UploadTooLarge):
        MultiPartParser(meta, io.BytesIO(body), [HashingUploadHandler(None, max_bytes=100_000)]).parse()
    assert files_under(data_root) == []


def test_handled_upload_is_moved_not_copied(alice, data_root, enqueued):
    meta, body = multipart(iris_like())
    _, files = MultiPartParser(meta, io.BytesIO(body), [HashingUploadHandler(None)]).parse()
    dataset = create_dataset_from_upload(alice, files["file"], "Moved", "tabular", {})
    assert files_under(data_root) == [dataset.source]


def test_a_handled_upload_nobody_takes_is_deleted_when_the_request_closes_it(data_root):
    meta, body = multipart(iris_like())
    _, files = MultiPartParser(meta, io.BytesIO(body), [HashingUploadHandler(None)]).parse()
    assert files_under(data_root) != []
    files["file"].close()  # what HttpRequest.close() does at the end of every request
    assert files_under(data_root) == []
