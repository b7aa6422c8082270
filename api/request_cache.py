"""Per-process caches of what API requests read again and again: a token's user, and a
predict request's job or named endpoint with its model file's identity.

Without them each request read its token and user (a join) and its job (a query whose SQL
Django compiles anew each time): most of a one-row prediction's server CPU. An entry is
used only while a *generation* it was stored with is still the current one in Redis:

- ``tokens``: one value for all tokens, replaced when any token is deleted (revoked,
  rotated) and when any user is saved or deleted (deactivated, for instance);
- ``user-<pk>``: one per user, replaced when that user's jobs, model files or named
  endpoints change (and when the user does).

A replacement is a new random value written by a signal receiver in whatever process made
the change (web or worker), once when the change is made and again after its transaction
commits. Each request reads the generations it needs in one round trip (MGET) before it
trusts an entry, and reads them before the database on a miss, so a revoked token is
refused by the next request in every web process, and a re-pointed name answers with its
new job at once. Entries also expire LAYERLOOM_REQUEST_CACHE_SECONDS after they were
stored: the longest a revoked token could outlive its revocation if Redis lost the new
generation (the write failed while reads worked). Without Redis (the database cache), or
while it cannot be reached, nothing is cached and every request reads the database.

Only rows that can serve are cached (a succeeded job with an ONNX model file): jobs change
state with queryset updates that send no signal, but never away from succeeded.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from webapp.cache import CACHE_ERRORS, redis_client

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000  # per cache and process; when full, it starts again empty
GENERATION_SECONDS = 86_400  # a generation nobody replaced in a day is read as none: entries miss once
_OFF = object()  # no Redis to read generations from: no caching
_USER_GENERATION = "_layerloom_user_generation"  # read with the token's, kept on the HttpRequest

_tokens: dict[str, tuple[bytes | None, float, Any, Any]] = {}  # key -> (generation, expiry, user, token)
_rows: dict[tuple[int, str, str], tuple[bytes | None, float, Any]] = {}  # (user, kind, id) -> (gen, expiry, row)


def _key(name: str) -> str:
    return caches["default"].make_key(f"request-cache:{name}")


def _read(*names: str) -> Any:
    """The generations' current values, or _OFF."""
    client = redis_client()
    if client is None:
        return _OFF
    try:
        return client.mget([_key(name) for name in names])
    except CACHE_ERRORS as exc:
        log.warning("request cache not used: the cache cannot be reached (%s)", exc)
        return _OFF


def _expiry() -> float:
    return time.monotonic() + settings.LAYERLOOM_REQUEST_CACHE_SECONDS


def _replace(names: list[str]) -> None:
    client = redis_client()
    if client is None:
        return
    try:
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.set(_key(name), uuid.uuid4().hex, ex=GENERATION_SECONDS)
            pipe.execute()
    except CACHE_ERRORS as exc:
        log.error("request cache: a generation was not replaced (%s); entries of %s may be used for up to %s s",
                  exc, names, settings.LAYERLOOM_REQUEST_CACHE_SECONDS)  # fmt: skip


def changed(*names: str) -> None:
    """Entries of these generations are stale: at once (this process's too), and again once the
    transaction commits (a request that read the database before the commit may have stored
    what it saw under the first new value)."""
    if "tokens" in names:
        _tokens.clear()
    users = {int(name[5:]) for name in names if name.startswith("user-")}
    for key in [key for key in list(_rows) if key[0] in users]:
        _rows.pop(key, None)
    _replace(list(names))
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _replace(list(names)))


def clear() -> None:
    """Forget every entry of this process."""
    _tokens.clear()
    _rows.clear()


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication with the token's user kept while the tokens' generation stands."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        self._http = request._request  # an authenticator is made for each request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        entry = _tokens.get(key)
        if entry is not None:
            generation, expiry, user, token = entry
            found = _read("tokens", f"user-{user.pk}")
            if found is _OFF:
                return super().authenticate_credentials(key)
            if found[0] == generation and time.monotonic() < expiry:
                setattr(self._http, _USER_GENERATION, found[1])
                return _copies(user, token)
        found = _read("tokens")  # before the database: a revocation after this read replaces it
        user, token = super().authenticate_credentials(key)  # raises AuthenticationFailed
        if found is not _OFF:
            if len(_tokens) >= MAX_ENTRIES:
                _tokens.clear()
            _tokens[key] = (found[0], _expiry(), user, token)
            return _copies(user, token)
        return user, token


def _copies(user: Any, token: Any) -> tuple[Any, Any]:
    """Each request its own instances: a view may change request.user without touching the cached one."""
    user, token = clone(user), clone(token)
    token.user = user
    return user, token


def clone(instance: Any) -> Any:
    """A model instance's copy, as copy.copy makes it (Model.__getstate__ copies its state and the
    cache of related objects, which stay shared) without pickling's detour through the app registry."""
    new = object.__new__(type(instance))
    new.__dict__.update(instance.__getstate__())
    return new


def owned_row(request: Request, kind: str, ident: str, load: Callable[[], Any], keep: Callable[[Any], bool]) -> Any:
    """``load()`` (the user's row, or an exception such as Http404), kept for the next request
    while the user's generation stands when ``keep(row)``; each call gets its own copy."""
    user_pk = request.user.pk
    generation = getattr(request._request, _USER_GENERATION, _OFF)
    if generation is _OFF:
        found = _read(f"user-{user_pk}")
        if found is _OFF:
            return load()
        generation = found[0]
    key = (user_pk, kind, str(ident))
    entry = _rows.get(key)
    if entry is not None and entry[0] == generation and time.monotonic() < entry[1]:
        return clone(entry[2])
    row = load()
    if keep(row):
        if len(_rows) >= MAX_ENTRIES:
            _rows.clear()
        _rows[key] = (generation, _expiry(), clone(row))
    return row


# --- What replaces a generation ----------------------------------------------------------


def _user_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a sign-in: nothing a token or a prediction reads
    changed("tokens", f"user-{instance.pk}")


def _token_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    changed("tokens")


def _owned_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    changed(f"user-{instance.owner_id}")


def _artifact_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from workers.models import TrainingJob

    owner = TrainingJob.objects.filter(pk=instance.job_id).values_list("owner_id", flat=True).first()
    if owner is not None:  # (a job being deleted replaces its owner's generation itself)
        changed(f"user-{owner}")


def connect() -> None:
    from serving.models import ModelEndpoint
    from workers.models import Artifact, TrainingJob

    user = get_user_model()
    post_save.connect(_user_changed, sender=user, dispatch_uid="request_cache_user_saved")
    post_delete.connect(_user_changed, sender=user, dispatch_uid="request_cache_user_deleted")
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="request_cache_token_deleted")
    for model in (TrainingJob, ModelEndpoint):
        post_save.connect(_owned_changed, sender=model, dispatch_uid=f"request_cache_{model.__name__}_saved")
        post_delete.connect(_owned_changed, sender=model, dispatch_uid=f"request_cache_{model.__name__}_deleted")
    post_save.connect(_artifact_changed, sender=Artifact, dispatch_uid="request_cache_artifact_saved")
    post_delete.connect(_artifact_changed, sender=Artifact, dispatch_uid="request_cache_artifact_deleted")
