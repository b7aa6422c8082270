"""The one file store: uploads, materialised datasets, checkpoints and artifacts.

Every stored file has a key, its path relative to LAYERLOOM_DATA_ROOT (`datasets/<key>/source/...`,
`datasets/<key>/v<n>/...`, `jobs/<key>/checkpoint/...`, `jobs/<key>/artifacts/...`), and lives in
the Django storage STORAGES["layerloom"]:

- FileSystemStorage on LAYERLOOM_DATA_ROOT (the default): the key's local path *is* the stored
  file, so pushing is nothing, `local_file`/`local_dir` return the real path and nothing is copied;
- an S3-compatible object store (django-storages' S3Storage, when LAYERLOOM_S3_BUCKET is set):
  writers still write under their host's LAYERLOOM_DATA_ROOT and push what they wrote; readers
  pull a file into the same place (a mirror of the keys they read), and a materialised dataset
  version into a bounded cache (`webapp.filecache`) keyed by a hash of its content.

No process assumes another's disk: what one host pushed, any other host can pull.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

ALIAS = "layerloom"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One stored object under a prefix: its name relative to the prefix, size and content tag
    (the store's ETag on S3; size and modification time elsewhere)."""

    name: str
    size: int
    tag: str
    modified: datetime | None = None


def storage() -> Storage:
    return storages[ALIAS]


def is_local() -> bool:
    """True when the store is the data root itself (stored files are local paths)."""
    return isinstance(storage(), FileSystemStorage)


def data_root() -> Path:
    return Path(settings.LAYERLOOM_DATA_ROOT)


def key_of(path: str | os.PathLike[str]) -> str:
    """The key of a path under the data root ("jobs/<key>/artifacts/model.onnx")."""
    return Path(path).resolve().relative_to(data_root().resolve()).as_posix()


def local_path(key: str) -> Path:
    return data_root() / key


def _bucket(st: Storage) -> Any:
    return getattr(st, "bucket", None)


# --- writing --------------------------------------------------------------------------------------
def push_file(path: str | os.PathLike[str], key: str | None = None) -> str:
    """Store the file at path (under the data root) under its key; streamed, never read whole."""
    key = key or key_of(path)
    if is_local():
        return key
    st = storage()
    with open(path, "rb") as fh:
        saved = st.save(key, File(fh, name=key))
    if saved != key:  # a storage that renames would break every reader of the key
        raise RuntimeError(f"the file store saved {key} as {saved}")
    return key


def push_dir(folder: str | os.PathLike[str]) -> list[str]:
    """Store every file under folder (sorted, so a reader that sees the last sees them all)."""
    if is_local():
        return []
    return [push_file(path) for path in sorted(Path(folder).rglob("*")) if path.is_file()]


# --- listing and deleting ---------------------------------------------------------------------------
def list_prefix(prefix: str) -> list[Entry]:
    """Every stored object under prefix (a folder's key), names relative to it, sorted."""
    prefix = prefix.strip("/")
    st = storage()
    entries: list[Entry] = []
    if is_local():
        root = local_path(prefix)
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                try:
                    info = path.lstat()
                except FileNotFoundError:
                    continue
                modified = datetime.fromtimestamp(info.st_mtime).astimezone()
                entries.append(Entry(path.relative_to(root).as_posix(), info.st_size,
                                     f"{info.st_size}-{info.st_mtime_ns}", modified))  # fmt: skip
    elif _bucket(st) is not None:
        for obj in _bucket(st).objects.filter(Prefix=prefix + "/"):
            entries.append(Entry(obj.key[len(prefix) + 1 :], obj.size, obj.e_tag.strip('"'), obj.last_modified))
    else:  # another Django storage: walk it with the storage API

        def walk(folder: str) -> None:
            dirs, files = st.listdir(folder)
            for name in files:
                key = f"{folder}/{name}"
                modified = st.get_modified_time(key)
                entries.append(Entry(key[len(prefix) + 1 :], st.size(key), f"{st.size(key)}-{modified}", modified))
            for name in dirs:
                walk(f"{folder}/{name}")

        if st.exists(prefix):
            walk(prefix)
    return sorted(entries, key=lambda e: e.name)


def prefix_bytes(prefix: str) -> int:
    return sum(e.size for e in list_prefix(prefix))


def delete(key: str) -> None:
    """Remove one stored object (and the host's copy of it)."""
    local_path(key).unlink(missing_ok=True)
    if not is_local():
        storage().delete(key)


def delete_prefix(prefix: str) -> None:
    """Remove every stored object under prefix, and this host's copies of them."""
    prefix = prefix.strip("/")
    if not prefix:
        raise ValueError("refusing to delete the whole store")
    folder = local_path(prefix)
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)
    else:
        folder.unlink(missing_ok=True)
    if is_local():
        return
    st = storage()
    if _bucket(st) is not None:
        _bucket(st).objects.filter(Prefix=prefix + "/").delete()
        return
    for entry in list_prefix(prefix):
        st.delete(f"{prefix}/{entry.name}")


# --- reading -----------------------------------------------------------------------------------------
def fetch(key: str, destination: Path) -> Path:
    """Download one object to destination (written under a temporary name, then renamed)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.part-{uuid.uuid4().hex[:8]}")
    st = storage()
    try:
        if _bucket(st) is not None:
            _bucket(st).download_file(key, str(partial))
        else:
            with st.open(key, "rb") as source, open(partial, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return destination


def exists(key: str) -> bool:
    return local_path(key).is_file() if is_local() else storage().exists(key)


def local_file(key: str, size: int | None = None) -> Path:
    """A local path holding the stored object: the stored file itself on local storage; on a
    remote store this host's copy under the data root, downloaded when missing (or when its size
    is not the expected one). FileNotFoundError when the store has no such object."""
    path = local_path(key)
    if is_local():
        return path
    if path.is_file() and (size is None or path.stat().st_size == size):
        return path
    if not storage().exists(key):
        raise FileNotFoundError(f"nothing stored under {key}")
    return fetch(key, path)


def fetched(path: Path) -> Path:
    """This host's copy of the stored file whose data-root path is path (downloaded when missing
    on a remote store); path itself on local files, or when the store has no such file."""
    if is_local():
        return path
    try:
        return local_file(key_of(path))
    except FileNotFoundError:
        return path


def local_dir(prefix: str, pin: bool = False) -> Path:
    """A local folder holding every object under prefix (a materialised dataset version): the
    stored folder itself on local storage, else its entry in the bounded content-hash cache
    (pin: kept from eviction while this process lives)."""
    if is_local():
        return local_path(prefix)
    from webapp import filecache

    return filecache.folder(prefix, pin=pin)


def pull_dir(prefix: str, folder: Path) -> int:
    """Make folder hold exactly what is stored under prefix (a checkpoint); the files pulled.
    On local storage the folder is the stored one and nothing happens."""
    if is_local():
        return 0
    entries = list_prefix(prefix)
    if folder.exists():
        shutil.rmtree(folder)
    for entry in entries:
        fetch(f"{prefix}/{entry.name}", folder / entry.name)
    return len(entries)


def stream(key: str, chunk: int = CHUNK) -> Iterator[bytes]:
    """The object's bytes, chunk by chunk: a download that never holds the whole file."""
    st = storage()
    if _bucket(st) is not None:
        body = _bucket(st).Object(key).get()["Body"]
        try:
            yield from body.iter_chunks(chunk)
        finally:
            body.close()
        return
    with st.open(key, "rb") as fh:
        while block := fh.read(chunk):
            yield block


def download_url(key: str, filename: str) -> str | None:
    """A short-lived URL that downloads the object straight from the store (S3, when
    LAYERLOOM_S3_PRESIGNED_DOWNLOADS); None where the web process must send it itself."""
    st = storage()
    if is_local() or _bucket(st) is None or not settings.LAYERLOOM_S3_PRESIGNED_DOWNLOADS:
        return None
    safe = filename.replace('"', "").replace("\\", "")
    return str(st.url(key, parameters={"ResponseContentDisposition": f'attachment; filename="{safe}"'},
                      expire=settings.LAYERLOOM_S3_URL_EXPIRE))  # fmt: skip


def describe() -> str:
    """Where files are stored, in words (the admin and `layerloom_cache` say it)."""
    st = storage()
    if is_local():
        return f"local files under {data_root()}"
    if _bucket(st) is not None:
        endpoint = getattr(st, "endpoint_url", None) or "AWS S3"
        return f"S3 bucket {st.bucket_name} at {endpoint}"
    return type(st).__name__
