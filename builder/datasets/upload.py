"""Receiving an upload: streamed to disk with its sha256 and a size cap, then a dataset row.

`HashingUploadHandler` replaces Django's upload handlers for a dataset upload view:

    request.upload_handlers = [HashingUploadHandler(request)]   # before touching request.POST/FILES

The file then arrives as a `HashedUploadedFile` already on the data root's disk, and
`create_dataset_from_upload` only renames it into the dataset's folder. Any other
UploadedFile works too; it is copied in chunks, hashing as it goes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.db import transaction
from django.http.multipartparser import MultiPartParserError

from builder.datasets.errors import OptionsError
from builder.datasets.kinds import get_kind
from builder.datasets.limits import Limits, human_bytes
from builder.datasets.options import validate_options
from builder.datasets.storage import data_root, incoming_dir, publish_source, remove_dataset_files
from builder.usage import over_quota_message

INGEST_QUEUE = "default"
CHUNK_BYTES = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the other form fields


class UploadTooLarge(MultiPartParserError):
    """Django answers 400 for MultiPartParserError, and DRF turns it into a ParseError."""


def too_large_message(limit: int) -> str:
    return f"The file is larger than the {human_bytes(limit)} upload limit."


class HashedUploadedFile(UploadedFile):
    """An uploaded file already on disk under incoming/, with its sha256 and size."""

    def __init__(self, path: Path, name: str, content_type: str, size: int, charset: str | None, sha256: str) -> None:
        super().__init__(open(path, "rb"), name, content_type, size, charset)  # noqa: SIM115 - the file object owns it
        self.path = path
        self.sha256 = sha256
        self.claimed = False  # set once a dataset has taken the file over

    def temporary_file_path(self) -> str:
        return str(self.path)

    def close(self) -> None:
        # Django closes every uploaded file when the request ends: one nobody took is deleted then.
        super().close()
        if not self.claimed:
            self.path.unlink(missing_ok=True)

    def discard(self) -> None:
        self.claimed = False
        self.close()


class HashingUploadHandler(FileUploadHandler):
    """Streams each file of a multipart request to disk, hashing it and enforcing the size cap."""

    chunk_size = CHUNK_BYTES

    def __init__(self, request: Any = None, max_bytes: int | None = None) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes if max_bytes is not None else Limits.from_settings().max_upload_bytes
        self._file: Any = None
        self._path: Path | None = None
        self._hash: Any = None
        self._size = 0

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        # Refuse early from the declared length; the streamed count below is what really holds.
        if content_length and content_length > self.max_bytes + MULTIPART_OVERHEAD:
            raise UploadTooLarge(too_large_message(self.max_bytes))
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        handle, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=incoming_dir())
        self._file = os.fdopen(handle, "wb")
        self._path = Path(name)
        self._hash = hashlib.sha256()
        self._size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self._discard()
            raise UploadTooLarge(too_large_message(self.max_bytes))
        self._hash.update(raw_data)
        self._file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> HashedUploadedFile | None:
        if self._file is None or self._path is None:
            return None
        self._file.close()
        self._file = None
        return HashedUploadedFile(
            self._path, self.file_name, self.content_type, self._size, self.charset, self._hash.hexdigest()
        )

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None


@dataclass
class StagedFile:
    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def stage_upload(uploaded_file: Any, limits: Limits) -> StagedFile:
    """The upload as a file under incoming/ with its sha256, copying only when not already there."""
    if isinstance(uploaded_file, HashedUploadedFile) and uploaded_file.path.parent == incoming_dir():
        if uploaded_file.size > limits.max_upload_bytes:
            uploaded_file.discard()
            raise OptionsError({"file": too_large_message(limits.max_upload_bytes)})
        uploaded_file.claimed = True
        uploaded_file.close()
        return StagedFile(uploaded_file.path, uploaded_file.sha256, uploaded_file.size)
    handle, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=incoming_dir())
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            chunks = (
                uploaded_file.chunks(CHUNK_BYTES) if hasattr(uploaded_file, "chunks") else _read_chunks(uploaded_file)
            )
            for chunk in chunks:
                size += len(chunk)
                if size > limits.max_upload_bytes:
                    raise OptionsError({"file": too_large_message(limits.max_upload_bytes)})
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedFile(path, digest.hexdigest(), size)


def _read_chunks(handle: Any) -> Any:
    while chunk := handle.read(CHUNK_BYTES):
        yield chunk


def check_upload_content(kind: str, path: Path, options: dict[str, Any], limits: Limits) -> None:
    """The checks that are quick enough to answer within the request; the rest happen at ingestion."""
    if path.stat().st_size == 0:
        raise OptionsError({"file": "The file is empty."})
    get_kind(kind).check_upload(path, options, limits)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise OptionsError({"name": "Give the dataset a name."})
    if len(name.strip()) > 120:
        raise OptionsError({"name": "The name can be at most 120 characters long."})
    return name.strip()


def find_duplicate(owner: Any, sha256: str, kind: str, options: dict[str, Any]) -> Any | None:
    """The owner's dataset made from the same bytes with the same options (failed ones excluded)."""
    from builder.models import Dataset

    candidates = Dataset.objects.filter(owner=owner, sha256=sha256, kind=kind).exclude(status=Dataset.Status.FAILED)
    for candidate in candidates.order_by("created", "id"):
        if candidate.options == options:
            return candidate
    return None


def enqueue_ingest(dataset_id: int) -> None:
    from builder.tasks import ingest_dataset

    ingest_dataset.apply_async((dataset_id,), queue=INGEST_QUEUE)


def create_dataset_from_upload(
    owner: Any, uploaded_file: Any, name: str, kind: str, options: dict[str, Any] | None = None
) -> Any:
    """A pending Dataset whose ingestion starts when the transaction commits.

    An identical re-upload (same bytes, kind and options) returns the existing dataset with
    `.duplicate = True`. Raises OptionsError (one message per field) for bad input, leaving
    no file and no row behind.
    """
    from builder.models import Dataset

    errors: dict[str, str] = {}
    try:
        name = _check_name(name)
    except OptionsError as exc:
        errors.update(exc.errors)
    try:
        options = validate_options(kind, options)
    except OptionsError as exc:
        errors.update(exc.errors)
    if uploaded_file is None:
        errors["file"] = "Choose a file to upload."
    if errors:
        if isinstance(uploaded_file, HashedUploadedFile):
            uploaded_file.discard()
        raise OptionsError(errors)
    assert options is not None
    limits = Limits.from_settings()
    staged = stage_upload(uploaded_file, limits)
    dataset = None
    try:
        check_upload_content(kind, staged.path, options, limits)
        existing = find_duplicate(owner, staged.sha256, kind, options)
        if existing is not None:
            staged.discard()
            existing.duplicate = True
            return existing
        over_quota = over_quota_message(owner, staged.size, "This upload")
        if over_quota:
            raise OptionsError({"file": over_quota})
        original = os.path.basename(str(getattr(uploaded_file, "name", "") or "").replace("\\", "/"))[:255]
        with transaction.atomic():
            dataset = Dataset.objects.create(
                owner=owner,
                name=name,
                kind=kind,
                status=Dataset.Status.PENDING,
                original_filename=original,
                sha256=staged.sha256,
                size_bytes=staged.size,
                options=options,
            )
            # Our own name, never the uploader's: nothing is ever served by a name a user chose.
            destination = dataset.data_dir / "source" / get_kind(kind).source_name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged.path, destination)
            dataset.source = str(destination.relative_to(data_root()))
            dataset.save(update_fields=["source"])
            publish_source(dataset, destination)
            dataset_id = dataset.pk
            transaction.on_commit(lambda: enqueue_ingest(dataset_id))
    except BaseException:
        staged.discard()
        if dataset is not None:
            remove_dataset_files(dataset)
        raise
    dataset.duplicate = False
    return dataset
