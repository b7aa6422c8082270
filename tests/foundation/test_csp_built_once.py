"""webapp.csp: the header built once is the library's own, and a view's change still applies."""

from __future__ import annotations

from typing import Any

import pytest
from csp.constants import NONCE
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from webapp.csp import CSPMiddleware


def respond(middleware_class: type, view: Any, path: str = "/x/") -> HttpResponse:
    request = RequestFactory().get(path)
    middleware = middleware_class(view)
    return middleware(request)


def plain(request: Any) -> HttpResponse:
    return HttpResponse("ok")


@csp_update({"img-src": "https://example.com"})
def updated(request: Any) -> HttpResponse:
    return HttpResponse("ok")


def nonce(request: Any) -> HttpResponse:
    return HttpResponse(str(request.csp_nonce))


def test_the_same_header_as_the_library(settings: Any) -> None:
    for _ in range(2):  # built, then reused
        ours = respond(CSPMiddleware, plain)["Content-Security-Policy"]
        assert ours == respond(LibraryCSPMiddleware, plain)["Content-Security-Policy"]


def test_a_views_update_and_a_nonce_still_apply(settings: Any) -> None:
    respond(CSPMiddleware, plain)
    assert "https://example.com" in respond(CSPMiddleware, updated)["Content-Security-Policy"]
    # A page that used a nonce goes through the library (its header names the nonce where the
    # settings ask for one with csp.constants.NONCE).
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": ["'self'", NONCE]}}
    response = respond(CSPMiddleware, nonce)
    assert f"script-src 'self' 'nonce-{response.content.decode()}'" in response["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"img-src": ["'self'"]}}
    assert "example.com" not in respond(CSPMiddleware, plain)["Content-Security-Policy"]


def test_a_settings_change_rebuilds_it(settings: Any) -> None:
    respond(CSPMiddleware, plain)
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert respond(CSPMiddleware, plain)["Content-Security-Policy"] == "default-src 'none'"
    settings.CONTENT_SECURITY_POLICY = {**settings.CONTENT_SECURITY_POLICY, "EXCLUDE_URL_PREFIXES": ["/x/"]}
    assert "Content-Security-Policy" not in respond(CSPMiddleware, plain)


def test_a_nonce_asked_for_after_the_header_is_an_error() -> None:
    from csp.exceptions import CSPNonceError

    request = RequestFactory().get("/x/")
    CSPMiddleware(plain)(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
