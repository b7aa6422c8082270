"""Fetch the pinned third-party browser files from the npm registry into static/vendor/.

Run it (it needs npm) only to add or upgrade a package: the files it writes are committed,
so neither the app nor its tests need Node. For each package below it runs
`npm pack NAME@VERSION`, copies the listed files out of the tarball, and rewrites
static/vendor/manifest.json with each file's package, version, licence and sha256
(tests/foundation/test_vendor_manifest.py checks the hashes against the files).

    python scripts/vendor_static.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"
MANIFEST = VENDOR / "manifest.json"

# name, version, {path in the package: path under the repository root}
PACKAGES: list[tuple[str, str, dict[str, str]]] = [
    ("chart.js", "4.5.1", {"dist/chart.umd.min.js": "static/vendor/chart.js/chart.umd.min.js"}),
    ("sortablejs", "1.15.7", {"Sortable.min.js": "static/vendor/sortablejs/Sortable.min.js"}),
    ("@dagrejs/dagre", "3.1.3", {"dist/dagre.min.js": "static/vendor/dagre/dagre.min.js"}),
    (
        "@highlightjs/cdn-assets",
        "11.11.1",
        {
            "highlight.min.js": "static/vendor/highlight/highlight.min.js",
            "styles/github.min.css": "static/vendor/highlight/github.min.css",
        },
    ),
    # The upload form reads a CSV's header row in the browser to offer its columns.
    ("papaparse", "5.5.3", {"papaparse.min.js": "static/vendor/papaparse/papaparse.min.js"}),
    # Only the accessibility tests inject it; pages never load it.
    ("axe-core", "4.14.1", {"axe.min.js": "tests/e2e/vendor/axe.min.js"}),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pack(name: str, version: str, workdir: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--silent"], cwd=workdir, check=True, capture_output=True, text=True
    )
    return workdir / out.stdout.strip().splitlines()[-1]


def member(archive: tarfile.TarFile, inner: str) -> bytes:
    """One regular file from the tarball, read by name: nothing is extracted to disk."""
    info = archive.getmember(f"package/{inner}")
    if not info.isfile():
        raise SystemExit(f"{inner} is not a regular file in the package")
    handle = archive.extractfile(info)
    assert handle is not None
    return handle.read()


def main() -> int:
    if shutil.which("npm") is None:
        print("npm is needed to refresh static/vendor/ (the committed files need no Node).", file=sys.stderr)
        return 1
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, files in PACKAGES:
            tarball = pack(name, version, Path(tmp))
            with tarfile.open(tarball) as archive:
                licence = json.loads(member(archive, "package.json")).get("license", "")
                for inner, dest in files.items():
                    target = ROOT / dest
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(member(archive, inner))
                    entries.append(
                        {"package": name, "version": version, "license": licence, "file": dest,
                         "sha256": sha256(target)}
                    )  # fmt: skip
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    MANIFEST.write_text(json.dumps({"files": entries}, indent=2) + "\n")
    print(f"wrote {len(entries)} files and {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
