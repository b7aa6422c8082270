"""The client's address, read from X-Forwarded-For only as far as trusted proxies vouch for it.

A proxy appends the address it saw to X-Forwarded-For, so with N trusted proxies the
N-th entry from the right is the address the outermost one saw; everything left of it
is whatever the client sent. With no trusted proxies (the default) the header is ignored.
The API throttles (DRF's NUM_PROXIES) and the sign-in limits follow this one rule.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    proxies: int = settings.LAYERLOOM_TRUSTED_PROXIES
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote
