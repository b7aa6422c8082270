"""Reading an uploaded zip safely, without ever extracting it to disk.

Member names are checked (no "..", absolute paths, backslashes, drive letters, NUL) and
symlinks refused (their mode sits in external_attr), although nothing is written from a
member name: images are decoded from memory and thumbnails get names of our own. The
caps on entries, total bytes, member size and compression ratio are enforced on the bytes
actually decompressed, because the sizes in a zip's headers are whatever its author wrote.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits, human_bytes

_READ_CHUNK = 1024 * 1024
# Operating-system clutter that is skipped silently rather than counted as a bad file.
_CLUTTER_DIRS = {"__MACOSX"}
_CLUTTER_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Member:
    index: int  # position in the archive's listing: the sample id reported for images
    name: str
    parts: tuple[str, ...]
    info: zipfile.ZipInfo


def unsafe_name_reason(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "uses backslashes (a Windows path); zip member names must use '/'"
    if name.startswith("/"):
        return "is an absolute path"
    if len(name) >= 2 and name[1] == ":":
        return "starts with a drive letter"
    if ".." in PurePosixPath(name).parts:
        return "contains '..' (it points outside the archive's folder)"
    return None


def is_symlink(info: zipfile.ZipInfo) -> bool:
    # Unix archivers keep st_mode in the high 16 bits of external_attr.
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def is_clutter(parts: tuple[str, ...]) -> bool:
    return any(p in _CLUTTER_DIRS for p in parts) or parts[-1] in _CLUTTER_FILES or parts[-1].startswith("._")


def open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DatasetError(
            "The file is not a readable zip archive. Zip the class folders and upload the .zip."
        ) from None
    except OSError as exc:
        raise DatasetError(f"The zip archive could not be opened ({exc.strerror or exc}).") from None


def list_members(archive: zipfile.ZipFile, limits: Limits) -> list[Member]:
    """Every regular file, after refusing the whole archive for any unsafe entry."""
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise DatasetError(f"The zip has {len(infos):,} entries; the limit is {limits.max_zip_entries:,}.")
    members = []
    for index, info in enumerate(infos):
        if reason := unsafe_name_reason(info.filename):
            raise DatasetError(f"The zip entry {info.filename[:120]!r} {reason}. Nothing was extracted.")
        if is_symlink(info):
            raise DatasetError(f"The zip entry {info.filename[:120]!r} is a symbolic link; links are not accepted.")
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise DatasetError(
                f"The zip entry {info.filename[:120]!r} is encrypted; upload an archive without a password."
            )
        parts = tuple(p for p in PurePosixPath(info.filename).parts if p not in ("", "."))
        if parts:
            members.append(Member(index, info.filename, parts, info))
    return members


class ByteBudget:
    """Counts decompressed bytes across the whole archive."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0

    def read(self, archive: zipfile.ZipFile, member: Member) -> bytes:
        """A member's bytes, stopping as soon as a cap is passed; CRC errors raise zipfile.BadZipFile."""
        limits = self.limits
        chunks: list[bytes] = []
        size = 0
        compressed = max(member.info.compress_size, 1)
        with archive.open(member.info) as handle:
            while chunk := handle.read(_READ_CHUNK):
                size += len(chunk)
                self.total += len(chunk)
                if size > limits.max_zip_member_bytes:
                    raise DatasetError(
                        f"The zip entry {member.name[:120]!r} is over {human_bytes(limits.max_zip_member_bytes)} "
                        "when decompressed; images that large are not accepted."
                    )
                if size > limits.zip_ratio_floor_bytes and size / compressed > limits.max_zip_ratio:
                    raise DatasetError(
                        f"The zip entry {member.name[:120]!r} decompresses more than {limits.max_zip_ratio:.0f} times "
                        "its stored size, which is how zip bombs work. It was refused."
                    )
                if self.total > limits.max_zip_total_bytes:
                    raise DatasetError(
                        f"The zip decompresses to more than {human_bytes(limits.max_zip_total_bytes)}; "
                        "that is over the limit."
                    )
                chunks.append(chunk)
        return b"".join(chunks)


def iter_member_bytes(
    archive: zipfile.ZipFile, members: list[Member], budget: ByteBudget
) -> Iterator[tuple[Member, bytes | None]]:
    """(member, bytes) pairs; bytes is None when the member is damaged (bad CRC or stream)."""
    for member in members:
        try:
            yield member, budget.read(archive, member)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
            yield member, None
