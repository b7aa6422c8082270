"""Failed sign-ins counted per account and per client address, in the shared cache.

Every place that checks a password (the token endpoint, the login form, the admin login)
calls reserve_attempt() first and reports the outcome after, so a password guesser meets
the same limits whichever door they use and whichever web process answers. The attempt is
counted as a failure before the password is checked (one atomic increment per account and
per address), and a right password gives it back: a burst of parallel guesses never gets
more passwords checked than the limit allows, however many arrive at once. While an account
or address is locked out even the right password is refused, with a message saying when to
try again. When the cache that holds the counts cannot be reached,
sign-in is refused (SignInUnavailable) rather than checked uncounted: a password guesser
must never get unlimited tries because Redis is down.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from webapp.cache import CACHE_ERRORS, increment
from webapp.client_address import client_address

log = logging.getLogger(__name__)


UNAVAILABLE = ("Sign-in is unavailable for a moment: the store that counts failed sign-ins cannot be reached. "
               "Try again shortly.")


class SignInUnavailable(Exception):
    """The counts cannot be read or written, so no password is checked (the API answers 503)."""

    def __init__(self) -> None:
        super().__init__(UNAVAILABLE)


@contextmanager
def _counts() -> Iterator[None]:
    try:
        yield
    except CACHE_ERRORS as exc:
        log.error("sign-in refused: the cache cannot be reached (%s: %s)", type(exc).__name__, exc)
        raise SignInUnavailable() from exc


@dataclass(frozen=True)
class Lockout:
    what: str  # "account" or "address"
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        subject = "for this account" if self.what == "account" else "from your address"
        return f"Too many failed sign-ins {subject}. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _keys(request: HttpRequest, username: str) -> dict[str, str]:
    # Look-alike spellings of one name count as one account; hashed so any text makes a valid key.
    name = unicodedata.normalize("NFKC", username).casefold()
    account = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    address = hashlib.sha256(client_address(request).encode()).hexdigest()
    return {"account": f"signin:account:{account}", "address": f"signin:address:{address}"}


def _limits() -> dict[str, int]:
    return {
        "account": settings.LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ACCOUNT,
        "address": settings.LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ADDRESS,
    }


def lockout(request: HttpRequest, username: str) -> Lockout | None:
    """The lockout in force for this account or this address, if any (account first)."""
    now = time.time()
    with _counts():
        for what, key in _keys(request, username).items():
            until = cache.get(f"{key}:locked")
            if until is not None and until > now:
                return Lockout(what, math.ceil(until - now))
    return None


def _lock(key: str, window: int) -> None:
    cache.set(f"{key}:locked", time.time() + window, timeout=window)


def reserve_attempt(request: HttpRequest, username: str) -> Lockout | None:
    """Count this attempt as a failure before its password is checked; the lockout that
    refuses it, or None when the password may be checked (then record_failure or
    record_success says how it went)."""
    locked = lockout(request, username)
    if locked is not None:
        return locked
    window: int = settings.LAYERLOOM_SIGNIN_LOCKOUT_SECONDS
    limits = _limits()
    refused = None
    with _counts():
        for what, key in _keys(request, username).items():
            # Attempts past the limit were reserved by others still being checked: refused.
            if increment(key, timeout=window) > limits[what]:
                _lock(key, window)
                refused = refused or Lockout(what, window)
    return refused


def record_failure(request: HttpRequest, username: str) -> None:
    """A wrong password (its attempt is already counted): reaching a limit locks that account or address out."""
    window: int = settings.LAYERLOOM_SIGNIN_LOCKOUT_SECONDS
    limits = _limits()
    with _counts():
        for what, key in _keys(request, username).items():
            # The count stays until its window ends (before the lockout does): deleting it here
            # would let an attempt that passed the lockout check a moment ago start a new count.
            if (cache.get(key) or 0) >= limits[what]:
                _lock(key, window)


def record_success(request: HttpRequest, username: str) -> None:
    """A right password clears the account's count and gives the address its attempt back."""
    keys = _keys(request, username)
    with _counts():
        cache.delete(keys["account"])
        try:
            cache.decr(keys["address"])
        except ValueError:  # the count's window ended while the password was checked
            pass
