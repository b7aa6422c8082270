"""Image zips: class folders, sizes and modes, and every unsafe or broken archive."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from builder.datasets.arrays import load_ids, load_split
from builder.datasets.errors import DatasetError
from builder.datasets.kinds import transform_records
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from tests.datasets.factories import image_zip, png_bytes, symlink_zip, write, zip_bytes


def ingest(tmp_path, data: bytes, limits: Limits | None = None, **options):
    source = write(tmp_path / "upload.zip", data)
    return materialise("images", source, validate_options("images", options), tmp_path / "v1", limits or Limits())


def fails(tmp_path, data: bytes, match: str, limits: Limits | None = None, **options) -> str:
    with pytest.raises(DatasetError, match=match) as caught:
        ingest(tmp_path, data, limits, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.zip"]
    return str(caught.value)


def test_class_folders_become_classes_resized_to_one_size(tmp_path):
    data = image_zip({"cats": 6, "dogs": 5}, prefix="pets/")
    result = ingest(tmp_path, data)
    assert result.class_names == ["cats", "dogs"]
    assert result.input_shape == [8, 11, 3]  # the median training image, RGB
    profile = result.profile
    assert profile["images"] == 11 and profile["classes"] == [
        {"name": "cats", "count": 6},
        {"name": "dogs", "count": 5},
    ]
    assert profile["sizes"]["width"]["min"] == 10 and profile["sizes"]["width"]["max"] == 12
    assert any("several sizes" in note for note in profile["notes"])
    X, y = load_split(tmp_path / "v1", "train")
    assert X.shape[1:] == (8, 11, 3) and X.dtype == np.float32 and 0.0 <= X.min() <= X.max() <= 1.0
    assert profile["thumbnails"] and all(t["file"].startswith("thumbs/") for t in profile["thumbnails"])
    for thumb in profile["thumbnails"]:
        assert Image.open(tmp_path / "v1" / thumb["file"]).format == "PNG"


def test_materialised_images_equal_the_predict_transform_of_the_files(tmp_path):
    data = image_zip({"a": 4, "b": 4})
    result = ingest(tmp_path, data, image_size=[5, 7], color_mode="grayscale")
    names = json.loads((tmp_path / "v1" / "samples.json").read_text())["names"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for split in ("train", "val", "test"):
            X, _ = load_split(tmp_path / "v1", split)
            ids = load_ids(tmp_path / "v1", split)
            if len(ids):
                raw = [archive.read(names[str(i)]) for i in ids]
                assert np.array_equal(np.asarray(X), transform_records(result.preprocessing, raw))


def test_png_with_html_appended_is_read_as_the_png_it_is(tmp_path):
    polyglot = png_bytes() + b"<html><script>alert(document.cookie)</script></html>"
    data = image_zip({"a": 3, "b": 3}, extra={"a/evil.html": polyglot})
    result = ingest(tmp_path, data)
    assert result.profile["images"] == 7
    for thumb in (tmp_path / "v1" / "thumbs").iterdir():
        assert b"<script" not in thumb.read_bytes()  # re-encoded, never copied


@pytest.mark.parametrize(
    "name, words",
    [
        ("../evil.png", "contains '..'"),
        ("cats/../../evil.png", "contains '..'"),
        ("/etc/evil.png", "absolute path"),
        ("cats\\evil.png", "backslashes"),
        ("C:/evil.png", "drive letter"),
    ],
)
def test_unsafe_member_names_refuse_the_whole_zip(tmp_path, name, words):
    fails(tmp_path, image_zip({"a": 3, "b": 3}, extra={name: png_bytes()}), words)


def test_symlink_members_are_refused(tmp_path):
    fails(tmp_path, symlink_zip(), "symbolic link")


def test_zip_bomb_by_ratio_is_stopped_while_streaming(tmp_path):
    bomb = b"\0" * (5 * 1024 * 1024)  # 5 MiB of zeros deflates about 1000:1
    fails(tmp_path, image_zip({"a": 3, "b": 3}, extra={"a/bomb.png": bomb}), "zip bomb")


def test_zip_bomb_by_total_size_is_stopped(tmp_path):
    limits = Limits(max_zip_total_bytes=500)
    fails(tmp_path, image_zip({"a": 10, "b": 10}), "decompresses to more than", limits=limits)


def test_lying_headers_do_not_help_a_bomb(tmp_path):
    """A member whose header claims a small size never yields more than it claims: the reader
    stops at the declared size, the CRC check then fails, and the member is refused as damaged
    by name (a reader that trusted the stream instead would hit the 1 KiB member cap)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(3):
            archive.writestr(f"a/{i}.png", png_bytes())
            archive.writestr(f"b/{i}.png", png_bytes())
        archive.writestr("b/big.png", b"\0" * 200_000)
    data = bytearray(buf.getvalue())
    # Rewrite the declared uncompressed size of b/big.png in the central directory to 10 bytes.
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"b/big.png"))
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    message = fails(tmp_path, bytes(data), "could not be read", limits=Limits(max_zip_member_bytes=1024))
    assert "'b/big.png' (damaged inside the zip)" in message, message


def test_too_many_entries(tmp_path):
    fails(tmp_path, image_zip({"a": 3, "b": 3}), "entries; the limit is 4", limits=Limits(max_zip_entries=4))


def test_image_decompression_bomb(tmp_path):
    big = png_bytes((3000, 3000), 0, mode="L")  # 9 megapixels, a few KiB compressed
    fails(
        tmp_path,
        image_zip({"a": 3, "b": 3}, extra={"a/big.png": big}),
        "decompression bombs",
        limits=Limits(max_image_pixels=1_000_000),
    )


def test_corrupted_images_are_skipped_and_counted(tmp_path):
    truncated = png_bytes()[:40]
    result = ingest(tmp_path, image_zip({"a": 10, "b": 10}, extra={"a/broken.png": truncated}))
    assert result.profile["skipped"]["corrupt"]["count"] == 1
    assert result.profile["skipped"]["corrupt"]["examples"][0]["name"] == "a/broken.png"
    assert result.profile["images"] == 20


def test_too_many_corrupted_images_fail_the_dataset(tmp_path):
    broken = {f"a/broken{i}.jpg": b"\xff\xd8\xff\xe0garbage" for i in range(3)}
    fails(
        tmp_path, image_zip({"a": 4, "b": 4}, extra=broken), r"3 of 11 images could not be read, over the 10% allowed"
    )


def test_non_image_files_are_skipped_and_counted(tmp_path):
    extra = {"a/notes.txt": b"hello", "b/data.csv": b"a,b\n1,2\n", "__MACOSX/a/._0.png": b"junk", "readme.md": b"x"}
    result = ingest(tmp_path, image_zip({"a": 3, "b": 3}, extra=extra))
    skipped = result.profile["skipped"]
    assert skipped["not_images"]["count"] == 2 and skipped["outside_class_folders"]["count"] == 1


def test_a_zip_of_only_non_images(tmp_path):
    fails(tmp_path, zip_bytes({"a/x.txt": b"x", "b/y.txt": b"y"}), "no readable images")


def test_class_folder_with_one_image(tmp_path):
    fails(tmp_path, image_zip({"cats": 5, "dogs": 1}), "The class folder 'dogs' has only 1 image")


def test_a_single_class_folder(tmp_path):
    fails(tmp_path, image_zip({"cats": 5}), "one class folder")


def test_not_a_zip(tmp_path):
    fails(tmp_path, png_bytes() + b"<html></html>", "not a readable zip")


def test_grayscale_images_default_to_grayscale(tmp_path):
    members = {f"{c}/{i}.png": png_bytes((9, 9), 40 * i, mode="L") for c in ("x", "y") for i in range(3)}
    assert ingest(tmp_path, zip_bytes(members)).input_shape == [9, 9, 1]
