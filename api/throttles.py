"""Per-user request throttling, with rates read from settings at request time.

DRF's own throttles copy their rates when the class is defined; reading
LAYERLOOM_API_THROTTLE_RATES on every request lets operators (and tests) change them
without a restart of the import graph. Anonymous requests are keyed by client address,
read as webapp/client_address.py says (X-Forwarded-For only behind trusted proxies), and
the counters live in the shared cache (settings.CACHES), so every web process counts together.

DRF's own SimpleRateThrottle keeps a list of timestamps per client, read and written back
whole: two requests at once both read it and one write is lost, so bursts of concurrent
requests went past the rate, and each request moved a list of up to `rate` floats through
the cache. Here a sliding window is estimated from two fixed-window counters (Cloudflare's
method): the current window's count plus the previous window's, weighted by how much of
that window the sliding one still covers. With Redis, each request is one round trip: a Lua
script increments the current window's counter (giving a new one its expiry), reads the
previous one, judges the request and takes a refused one back out, atomically (Django's
cache API took three: EXISTS and INCR for the increment, GET for the previous window). With
the database cache it is one atomic increment (webapp.cache's locked row) and one read.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from webapp.cache import CACHE_ERRORS, increment, redis_client
from webapp.client_address import client_address

log = logging.getLogger(__name__)

# KEYS: this window's counter, the previous window's. ARGV: the counter's expiry (seconds), the
# limit, the share of the previous window still inside the sliding one. Returns {allowed, count,
# previous}; a refused request is taken back out of the count.
SLIDING_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local previous = tonumber(redis.call('GET', KEYS[2])) or 0
if previous * tonumber(ARGV[3]) + count <= tonumber(ARGV[2]) then return {1, count, previous} end
redis.call('DECR', KEYS[1])
return {0, count, previous}
"""
_SCRIPTS: dict[int, Any] = {}


def _sliding_window(client: Any) -> Any:
    script = _SCRIPTS.get(id(client))
    if script is None:
        script = _SCRIPTS.setdefault(id(client), client.register_script(SLIDING_WINDOW))
    return script


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

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        limit, duration = self.num_requests, self.duration
        now = self.timer()
        window, elapsed = divmod(now, duration)
        current = f"{key}:{int(window)}"
        covered = 1 - elapsed / duration  # the share of the previous window still inside the sliding one
        client = redis_client()
        if client is not None:
            try:
                keys = [self.cache.make_key(current), self.cache.make_key(f"{key}:{int(window) - 1}")]
                allowed, count, previous = _sliding_window(client)(keys=keys, args=[2 * duration, limit, repr(covered)])
            except CACHE_ERRORS as exc:
                log.warning("%s throttle not applied: the cache cannot be reached (%s)", self.scope, exc)
                return True
            if allowed:
                return True
            self._wait = _seconds_until_allowed(previous, count - 1, limit, elapsed, duration)
            return False
        try:
            # Counted before it is judged, atomically: concurrent requests each see their own count.
            count = increment(current, timeout=2 * duration)  # it is also the next window's "previous"
            previous = self.cache.get(f"{key}:{int(window) - 1}", 0)
        except CACHE_ERRORS as exc:
            # A rate limit is fairness, not a lock: with its counters out of reach the site keeps
            # answering (sign-in, which is a lock, refuses instead: webapp.signin_limits).
            log.warning("%s throttle not applied: the cache cannot be reached (%s)", self.scope, exc)
            return True
        if previous * covered + count <= limit:
            return True
        with contextlib.suppress(ValueError):  # (gone only if the cache was cleared meanwhile)
            self.cache.decr(current)  # a refused request is not counted, as in DRF's own throttle
        self._wait = _seconds_until_allowed(previous, count - 1, limit, elapsed, duration)
        return False

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def _seconds_until_allowed(previous: float, current: int, limit: int, elapsed: float, duration: int) -> float:
    """When a next request would fit: previous * covered + current + 1 <= limit."""
    if current + 1 <= limit:
        # Within this window, once enough of the previous one has slid out.
        needed = 1 - (limit - current - 1) / previous if previous else 0.0
        return max(needed * duration - elapsed, 0.0)
    # Not in this window: in the next, this window's count is the weighted previous one.
    needed = max(1 - (limit - 1) / current, 0.0) if current and limit >= 1 else 1.0
    return duration - elapsed + needed * duration


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
