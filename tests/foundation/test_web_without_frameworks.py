"""requirements/web.txt alone serves the site: the web host needs no TensorFlow, torch or librosa.

A real web process (Django's server, its own process) starts with every package that
requirements/web.txt does not bring made unimportable: a meta-path hook, written by the test
into a `sitecustomize` on the process's PYTHONPATH, refuses them and records each attempt
(even one a `try: ... except ImportError` would swallow). The blocked set is read from the
requirements files and the installed packages' own metadata, so a package moved between files
changes what is blocked. Through that process a person signs in and opens every page, a script
uses the API, downloads a file and gets predictions from a job's ONNX model, and staff open
the admin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from rest_framework.authtoken.models import Token

from builder.models import Architecture
from builder.spec.presets import presets
from tests.serving.helpers import IMAGE_DOC, TABLE_DOC, TEXT_DOC, b64, onnx_job, png
from tests.support.web_process import web_process
from tests.support.workers import ROOT

# What the web process imports does not depend on the database or broker it uses.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]

# Every virtual environment has these; a host's install does not choose them.
ALWAYS_THERE = {"pip", "setuptools", "wheel"}
MUST_BE_BLOCKED = {"tensorflow", "keras", "torch", "tensorboard", "librosa", "numba", "onnx"}

HOOK = """
import importlib.abc, sys

BLOCKED = frozenset({blocked!r})
LOG = {log!r}


class WebHostOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in BLOCKED:
            frame = sys._getframe(1)
            while frame and frame.f_code.co_filename.startswith("<frozen"):
                frame = frame.f_back
            with open(LOG, "a") as log:
                log.write(f"{{fullname}}\\t{{frame.f_code.co_filename if frame else '?'}}\\n")
            raise ModuleNotFoundError(f"{{top}} is not in requirements/web.txt", name=fullname)
        return None


sys.meta_path.insert(0, WebHostOnly())
with open(LOG, "a") as log:
    log.write("# active\\n")
"""


def requirements_in(path: Path) -> list[Requirement]:
    """The requirements a file names, following its `-r` includes."""
    found: list[Requirement] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            found += requirements_in(path.parent / line[2:].strip())
        elif line:
            found.append(Requirement(line))
    return found


def closure(roots: list[Requirement]) -> set[str]:
    """The installed distributions that ``roots`` need, with their dependencies' dependencies."""
    seen: set[str] = set()
    pending = [(r, tuple(r.extras)) for r in roots]
    while pending:
        req, extras = pending.pop()
        name = canonicalize_name(req.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        for text in metadata.distribution(name).requires or []:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in ("", *extras)):
                pending.append((dep, tuple(dep.extras)))
    return seen


def top_level_modules(dist: metadata.Distribution) -> set[str]:
    names: set[str] = set()
    for file in dist.files or []:
        top = file.parts[0]
        if top.endswith(".py"):
            names.add(top[:-3])
        elif len(file.parts) > 1 and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", top) and top != "__pycache__":
            names.add(top)
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\..*)?\.(so|pyd)", top):
            names.add(top.split(".")[0])
    return names


def modules_outside_web_requirements() -> set[str]:
    web = closure(requirements_in(ROOT / "requirements" / "web.txt")) | ALWAYS_THERE
    allowed: set[str] = set()
    others: set[str] = set()
    for dist in metadata.distributions():
        (allowed if canonicalize_name(dist.metadata["Name"]) in web else others).update(top_level_modules(dist))
    return others - allowed


@pytest.fixture
def web_host(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    blocked = modules_outside_web_requirements()
    assert blocked >= MUST_BE_BLOCKED, MUST_BE_BLOCKED - blocked
    attempts = tmp_path / "blocked-imports.log"
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK.format(blocked=sorted(blocked), log=str(attempts)))
    with web_process("web-only", env={"PYTHONPATH": f"{hook}:{ROOT}"}) as web:
        yield web.url, attempts
        assert "Traceback" not in web.log(), web.log()


def signed_in(url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text
    answer = session.post(
        f"{url}/accounts/login/", timeout=30, headers={"Referer": f"{url}/accounts/login/"},
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
    )  # fmt: skip
    assert answer.status_code == 200 and "sessionid" in session.cookies, answer.text
    return session


def test_the_web_requirements_alone_serve_pages_api_downloads_and_predictions(
    alice: Any, django_user_model: Any, web_host: tuple[str, Path]
) -> None:
    url, attempts = web_host
    table = onnx_job(alice, TABLE_DOC)
    image = onnx_job(alice, IMAGE_DOC)
    text = onnx_job(alice, TEXT_DOC)
    architecture = Architecture.objects.create(owner=alice, name="alice-mlp", spec=presets()["mlp"])
    django_user_model.objects.create_superuser("root", password="root-password-1")

    browser = signed_in(url, "alice", "alice-password-1")
    pages = [
        "/", "/datasets/", "/datasets/upload/", f"/datasets/{table.dataset_id}/", f"/datasets/{image.dataset_id}/",
        "/architectures/", "/architectures/new/", f"/architectures/{architecture.pk}/", "/jobs/", f"/jobs/new/?architecture={architecture.pk}&dataset={table.dataset_id}",
        f"/jobs/{table.pk}/", f"/jobs/{table.pk}/predict/", f"/jobs/{image.pk}/predict/",
        f"/jobs/compare/?ids={table.pk},{text.pk}", "/api/docs/", "/accounts/password_change/",
    ]  # fmt: skip
    for page in pages:
        answer = browser.get(f"{url}{page}", timeout=60)
        assert answer.status_code == 200, (page, answer.status_code, answer.text[:500])

    api = requests.Session()
    api.headers["Authorization"] = f"Token {Token.objects.create(user=alice).key}"
    for path in ("/api/schema/", "/api/layers/", "/api/presets/", "/api/usage/", "/api/datasets/", "/api/jobs/",
                 f"/api/jobs/{table.pk}/", f"/api/jobs/{table.pk}/metrics/", "/api/architectures/", "/api/models/"):  # fmt: skip
        answer = api.get(f"{url}{path}", timeout=60)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
    checked = api.post(f"{url}/api/architectures/validate/", json={"spec": presets()["mlp"]}, timeout=60)
    assert checked.status_code == 200 and checked.json()["output_shape"] == [3], checked.text
    for framework, needle in (("keras", "def build_model"), ("torch", "nn.Module")):  # pure Python
        code = api.get(f"{url}/api/architectures/{architecture.pk}/codegen/?framework={framework}", timeout=60)
        assert code.status_code == 200 and needle in code.text, code.text[:500]

    # An upload is read and checked on the web host (pyarrow) and queued for ingestion.
    upload = api.post(
        f"{url}/api/datasets/", timeout=60, data={"name": "flowers", "kind": "tabular", "options": '{"target_column": "species"}'},
        files={"file": ("flowers.csv", b"length,width,species\n" + b"5.1,3.5,setosa\n4.9,3.0,virginica\n" * 40)},
    )  # fmt: skip
    assert upload.status_code == 201 and upload.json()["status"] == "pending", upload.text
    demo = api.post(f"{url}/api/datasets/demo/", json={"demo": "iris"}, timeout=120)  # scikit-learn's data
    assert demo.status_code in (200, 201, 202), demo.text

    (artifact,) = api.get(f"{url}/api/jobs/{table.pk}/artifacts/", timeout=60).json()
    download = api.get(artifact["download_url"], timeout=60)
    assert download.status_code == 200 and download.content == (table.artifacts_dir / "model.onnx").read_bytes()

    rows = [{"length": 5.1, "width": 3.5, "colour": "red"}, {"length": 6.7, "width": 3.1, "colour": "blue"}]
    answers = {
        table.pk: api.post(f"{url}/api/jobs/{table.pk}/predict/", json={"rows": rows}, timeout=60),
        image.pk: api.post(f"{url}/api/jobs/{image.pk}/predict/", json={"images": [b64(png((4, 4), "L"))]}, timeout=60),
        text.pk: api.post(f"{url}/api/jobs/{text.pk}/predict/", json={"texts": ["good good bad"]}, timeout=60),
    }  # fmt: skip
    for job, answer in answers.items():
        assert answer.status_code == 200, (job, answer.text)
        assert answer.json()["predictions"], answer.text

    staff = signed_in(url, "root", "root-password-1")
    for page in ("/admin/", "/admin/workers/trainingjob/", f"/admin/workers/trainingjob/{table.pk}/change/",
                 "/admin/builder/dataset/", f"/admin/builder/dataset/{table.dataset_id}/change/",
                 "/admin/builder/architecture/", "/admin/serving/"):  # fmt: skip
        answer = staff.get(f"{url}{page}", timeout=60)
        assert answer.status_code == 200, (page, answer.status_code, answer.text[:500])

    # Libraries probe for optional packages (DRF for markdown, kombu for msgpack) and carry on
    # without them, as on a web host; Layerloom's own code and the frameworks must not be tried.
    lines = attempts.read_text().splitlines()
    assert lines[:1] == ["# active"], "the web process must have run the hook"
    tried = [line.split("\t") for line in lines if not line.startswith("#")]
    ours = [(name, where) for name, where in tried if Path(where).is_relative_to(ROOT) and ".venv" not in where]
    heavy = [(name, where) for name, where in tried if name.partition(".")[0] in MUST_BE_BLOCKED]
    assert ours == [] and heavy == [], f"the web process tried to import: {ours + heavy}"
