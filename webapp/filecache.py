"""A host's bounded cache of materialised dataset versions pulled from a remote file store.

Each entry is a folder named by the hash of its content (every object's name, size and the
store's content tag), under LAYERLOOM_CACHE_DIR; its `.entry.json` says which prefix it came
from, its size, and (by its modification time) when it was last used. When the cache holds more
than LAYERLOOM_CACHE_MAX_MB, the least recently used entries go first; the one being handed out
never does, nor one a running job has pinned (its training process holds a shared lock on the
entry's mark until it exits). A process that still has an evicted entry's arrays memory-mapped
keeps reading them (the files go when the last mapping does).

Only a remote store uses it (`webapp.filestore.local_dir`): on local files the stored folder is
read in place. `manage.py layerloom_cache` lists and clears it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from webapp import filestore

MARK = ".entry.json"
# prefix -> folder, for this process: a dataset version never changes once stored.
_known: dict[str, Path] = {}
# Entries this process has pinned: their marks, open with a shared lock, until the process ends.
_pins: dict[Path, IO[str]] = {}


@dataclass(frozen=True)
class CacheEntry:
    digest: str
    prefix: str
    size_bytes: int
    last_used: float
    path: Path


def cache_dir() -> Path:
    folder = Path(settings.LAYERLOOM_CACHE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def max_bytes() -> int:
    return int(settings.LAYERLOOM_CACHE_MAX_MB) * 1024**2


@contextmanager
def _locked() -> Iterator[None]:
    """One process at a time builds or evicts (the training child, the pool, the web workers)."""
    with open(cache_dir() / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def digest_of(entries: list[filestore.Entry]) -> str:
    listing = json.dumps([[e.name, e.size, e.tag] for e in entries])
    return hashlib.sha256(listing.encode()).hexdigest()[:32]


def _touch(path: Path) -> None:
    """Mark the entry used now (the clock's nanoseconds: the file system's own stamp is coarser)."""
    now = time.time_ns()
    os.utime(path / MARK, ns=(now, now))


def _pin(entry: Path) -> None:
    if entry not in _pins:
        mark = open(entry / MARK)  # noqa: SIM115 - held until the process ends
        fcntl.flock(mark, fcntl.LOCK_SH)
        _pins[entry] = mark


def _pinned_elsewhere(entry: Path) -> bool:
    """Another process holds the entry (a running job): it must not be evicted."""
    if entry in _pins:
        return False
    try:
        with open(entry / MARK) as mark:
            fcntl.flock(mark, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(mark, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def folder(prefix: str, pin: bool = False) -> Path:
    """The local folder holding what is stored under prefix: from the cache, else downloaded.
    pin: keep it from eviction while this process lives (a job's training process)."""
    prefix = prefix.strip("/")
    known = _known.get(prefix)
    if known is not None and (known / MARK).is_file():
        _touch(known)
        if pin:
            with _locked():
                if (known / MARK).is_file():
                    _pin(known)
                    return known
        else:
            return known
    entries = filestore.list_prefix(prefix)
    if not entries:
        raise FileNotFoundError(f"nothing stored under {prefix}")
    digest = digest_of(entries)
    target = cache_dir() / digest
    with _locked():
        if not (target / MARK).is_file():
            build = cache_dir() / f".build-{digest}-{uuid.uuid4().hex[:8]}"
            try:
                for entry in entries:
                    filestore.fetch(f"{prefix}/{entry.name}", build / entry.name)
                _write_mark(build, prefix, sum(e.size for e in entries))
                shutil.rmtree(target, ignore_errors=True)
                os.replace(build, target)
            finally:
                shutil.rmtree(build, ignore_errors=True)
        _touch(target)
        if pin:
            _pin(target)
        evict(keep=digest)
    _known[prefix] = target
    return target


def adopt(prefix: str, local: Path) -> Path | None:
    """Move a folder this host just stored under prefix into the cache (no download later)."""
    entries = filestore.list_prefix(prefix)
    if not entries or not local.is_dir():
        return None
    digest = digest_of(entries)
    target = cache_dir() / digest
    with _locked():
        if (target / MARK).is_file():
            shutil.rmtree(local, ignore_errors=True)
        else:
            shutil.rmtree(target, ignore_errors=True)
            _write_mark(local, prefix, sum(e.size for e in entries))
            shutil.move(str(local), str(target))
        _touch(target)
        evict(keep=digest)
    _known[prefix] = target
    return target


def _write_mark(folder_path: Path, prefix: str, size: int) -> None:
    folder_path.mkdir(parents=True, exist_ok=True)
    (folder_path / MARK).write_text(json.dumps({"prefix": prefix, "size_bytes": size}))


def entries() -> list[CacheEntry]:
    """What the cache holds, most recently used first."""
    found = []
    for path in cache_dir().iterdir():
        mark = path / MARK
        try:
            info = json.loads(mark.read_text())
            used = mark.stat().st_mtime
        except (OSError, ValueError):
            continue
        found.append(CacheEntry(path.name, info.get("prefix", ""), int(info.get("size_bytes", 0)), used, path))
    return sorted(found, key=lambda e: e.last_used, reverse=True)


def evict(keep: str = "", limit: int | None = None) -> list[CacheEntry]:
    """Remove least recently used entries until the cache fits its bound; those removed."""
    limit = max_bytes() if limit is None else limit
    held = entries()
    total = sum(e.size_bytes for e in held)
    removed = []
    for entry in reversed(held):  # least recently used first
        if total <= limit:
            break
        if entry.digest == keep or entry.path in _pins or _pinned_elsewhere(entry.path):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        total -= entry.size_bytes
        removed.append(entry)
    for entry in removed:
        for prefix, path in list(_known.items()):
            if path == entry.path:
                del _known[prefix]
    return removed


def clear() -> list[CacheEntry]:
    with _locked():
        removed = evict(limit=0)
        for path in cache_dir().glob(".build-*"):  # left by a process that died mid-download
            if time.time() - path.stat().st_mtime > 3600:
                shutil.rmtree(path, ignore_errors=True)
    return removed
