"""Per-user request throttling, with rates read from settings at request time.

DRF's own throttles copy their rates when the class is defined; reading
LAYERLOOM_API_THROTTLE_RATES on every request lets operators (and tests) change them
without a restart of the import graph. Anonymous requests are keyed by client address,
read as webapp/client_address.py says (X-Forwarded-For only behind trusted proxies), and
the counters live in the shared cache (settings.CACHES), so every web process counts together.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from webapp.client_address import client_address


class ScopedUserThrottle(SimpleRateThrottle):
    scope = "user"

    def get_rate(self) -> str | None:
        rates: dict[str, str | None] = getattr(settings, "LAYERLOOM_API_THROTTLE_RATES", {})
        return rates.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_address(request)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        ident = f"user-{user.pk}" if user and user.is_authenticated else f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UserThrottle(ScopedUserThrottle):
    """Every API request of one user, all endpoints together."""

    scope = "user"


class UploadThrottle(ScopedUserThrottle):
    """Dataset uploads: each one costs disk and an ingestion run."""

    scope = "upload"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class SubmitThrottle(UploadThrottle):
    """Job submissions (the quota caps how many run; this caps how fast they arrive)."""

    scope = "submit"


class TokenThrottle(ScopedUserThrottle):
    """Password attempts at the token endpoint, keyed by client address."""

    scope = "auth"
