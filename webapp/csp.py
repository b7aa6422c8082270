"""django-csp's middleware, with the policy's header built once per process.

The library builds the same header from the settings on every response (a dataclass turned
into dicts and every directive copied): about a tenth of the server's CPU for a one-row
prediction. Here a response whose policy nobody changed gets the header built once (again
after the settings change); one that a view changed (@csp_update, @csp_replace, @csp) or
whose page used a nonce goes through the library's own code, as before.
"""

from __future__ import annotations

import http.client
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase

# What a view or a template may set to change one response's policy.
_RESPONSE_PARTS = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
_BUILT: dict[bool, str] = {}  # report_only -> the header from the settings alone


def _forget(setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _BUILT.clear()


setting_changed.connect(_forget, dispatch_uid="webapp_csp_forget")


def _header(report_only: bool) -> str:
    built = _BUILT.get(report_only)
    if built is None:
        built = _BUILT[report_only] = build_policy(report_only=report_only)
    return built


class CSPMiddleware(LibraryCSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, part, None) is not None for part in _RESPONSE_PARTS
        ):
            return super().process_response(request, response)
        # From here on what the library does, with the header built once.
        if settings.DEBUG and response.status_code in (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND):
            return response
        for header, report_only, exempt, setting in (
            (HEADER, False, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, True, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            value = _header(report_only)
            if not value or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = value
        # A nonce asked for after the header was written would not be in it: the library's error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
