"""Every page sends the Content-Security-Policy and Cross-Origin-Opener-Policy, and no
template of ours needs an exception to it (no inline script, style or event handler)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:", "blob:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
ANONYMOUS = ["/accounts/login/", "/accounts/signup/", "/accounts/password_reset/", "/admin/login/", "/api/docs/",
             "/api/docs/?script=", "/api/schema/", "/api/layers/", "/api/nowhere/"]  # fmt: skip
SIGNED_IN = ["/", "/admin/", "/admin/auth/user/", "/accounts/password_change/", "/api/architectures/"]


def policy(response: Any) -> dict[str, set[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: set(part.split()[1:]) for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ANONYMOUS + SIGNED_IN)
def test_every_page_sends_the_policy(path: str, client: Client, django_user_model: Any) -> None:
    if path in SIGNED_IN:
        client.force_login(django_user_model.objects.create_user("staff", password="x", is_staff=True,
                                                                 is_superuser=True))  # fmt: skip
    response = client.get(path)
    assert response.status_code < 500
    directives = policy(response)
    for name, sources in EXPECTED.items():
        assert directives.get(name) == sources, f"{path}: {name} is {directives.get(name)}"
    assert not {"'unsafe-inline'", "'unsafe-eval'"} & set().union(*directives.values())
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_api_docs_load_their_start_up_script_as_a_file(client: Client) -> None:
    html = client.get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script="></script>' in html
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"] == "application/javascript"
    assert "SwaggerUIBundle" in script.content.decode()


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_templates_have_no_inline_script_or_style() -> None:
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert len(templates) >= 8
    found = [f"{t.relative_to(ROOT)}: {what}" for t in templates for pattern, what in INLINE
             if pattern.search(re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", t.read_text(), flags=re.S))]  # fmt: skip
    assert found == []


def test_the_template_check_can_fail(tmp_path: Path) -> None:
    samples = ['<script>alert(1)</script>', '<style>p {}</style>', '<p style="x">', '<a onclick="x()">', '<a href="javascript:x">']  # fmt: skip
    for sample, (pattern, _) in zip(samples, INLINE, strict=True):
        assert pattern.search(sample)
    assert not INLINE[0][0].search('<script src="/static/js/app.js"></script>')
