"""Small files for dataset tests, made in memory."""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def iris_like(rows: int = 90, seed: int = 0, with_color: bool = True) -> bytes:
    """Three separable classes, a categorical column with gaps."""
    rng = np.random.default_rng(seed)
    body = []
    for i in range(rows):
        label = ["setosa", "versicolor", "virginica"][i % 3]
        centre = (i % 3) * 2.0
        color = ["red", "green", "blue", ""][int(rng.integers(4))]
        row = [f"{centre + rng.normal():.4f}", f"{centre * 0.5 + rng.normal():.4f}"]
        body.append([*row, color, label] if with_color else [*row, label])
    header = ["a", "b", "color", "species"] if with_color else ["a", "b", "species"]
    return csv_bytes(header, body)


def class_table(
    rows: int = 150,
    seed: int = 0,
    *,
    names: Sequence[str] = ("a", "b", "c", "d"),
    target: str = "species",
    classes: Sequence[str] = ("x", "y", "z"),
    spread: float = 1.5,
    scale: float = 0.4,
    digits: int = 3,
) -> bytes:
    """Numeric columns drawn around each class's centre (class k at k * spread), and the class, in turn."""
    rng = np.random.default_rng(seed)
    lines = [",".join([*names, target])]
    for i in range(rows):
        values = rng.normal(loc=(i % len(classes)) * spread, scale=scale, size=len(names))
        lines.append(",".join(f"{v:.{digits}f}" for v in values) + f",{classes[i % len(classes)]}")
    return ("\n".join(lines) + "\n").encode()


def png_bytes(
    size: tuple[int, int] = (12, 10), color: Any = (200, 30, 30), mode: str = "RGB", fmt: str = "PNG"
) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format=fmt)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def image_zip(classes: dict[str, int], prefix: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    colors = [(220, 20, 20), (20, 220, 20), (20, 20, 220), (200, 200, 20)]
    members = {}
    for c, (name, count) in enumerate(classes.items()):
        for i in range(count):
            members[f"{prefix}{name}/{i}.png"] = png_bytes((10 + i % 3, 8 + i % 2), colors[c % len(colors)])
    members.update(extra or {})
    return zip_bytes(members)


def symlink_zip(name: str = "cats/link.png", target: str = "/etc/passwd") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for i in range(3):
            archive.writestr(f"cats/{i}.png", png_bytes())
            archive.writestr(f"dogs/{i}.png", png_bytes(color=(0, 0, 255)))
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
