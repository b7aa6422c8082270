"""The vendored browser files are exactly the pinned packages' files the manifest names."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "static" / "vendor" / "manifest.json").read_text())


def test_every_vendored_file_matches_its_recorded_hash_version_and_licence() -> None:
    assert MANIFEST["files"]
    for entry in MANIFEST["files"]:
        data = (ROOT / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), entry
        assert entry["license"], entry


def test_every_file_under_static_vendor_is_in_the_manifest() -> None:
    listed = {entry["file"] for entry in MANIFEST["files"]}
    on_disk = {
        str(p.relative_to(ROOT)) for p in (ROOT / "static" / "vendor").rglob("*") if p.is_file() and p.name != "manifest.json"
    }
    assert on_disk <= listed, on_disk - listed

