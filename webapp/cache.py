"""The database cache (the embedded default) with increments that are never lost.

Django's DatabaseCache inherits BaseCache.incr: a get, then a set. Two web threads counting
at once both read n and both write n + 1, so concurrent failed sign-ins (webapp.
signin_limits) counted as one: 8 threads adding 25 each ended at 25, not 200. The set also
gave the counter the default 300-second timeout, so a count meant to last its window
vanished five minutes after its last increment. Here the read and the write are one
transaction that holds the row (SQLite's transactions begin IMMEDIATE, see settings, taking
the write lock first; other databases lock the row with SELECT ... FOR UPDATE), and only the
value is rewritten, so the entry keeps its expiry. Redis (RedisCache) does both on its own.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connections, router, transaction
from redis import Redis
from redis.exceptions import RedisError

# What a cache call raises when its store cannot be reached (Redis down, the cache table gone).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, DatabaseError, OSError)


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        made = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table, key_column, value_column = quote(self._table), quote("cache_key"), quote("value")
        with transaction.atomic(using=db), connection.cursor() as cursor:
            if connection.features.has_select_for_update:
                cursor.execute(f"SELECT {key_column} FROM {table} WHERE {key_column} = %s FOR UPDATE", [made])  # noqa: S608
            value = self.get(key, self._missing_key, version=version)  # an expired entry reads as missing
            if value is self._missing_key:
                raise ValueError(f"Key '{key}' not found.")
            value += delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(f"UPDATE {table} SET {value_column} = %s WHERE {key_column} = %s", [encoded, made])  # noqa: S608
        return value


def increment(key: str, timeout: float) -> int:
    """Add one to a counter in the shared cache and return it, atomically; a counter that
    does not exist yet is made to last `timeout` seconds (an increment keeps that expiry)."""
    try:
        return int(cache.incr(key))
    except ValueError:  # the first count: only one of concurrent adds makes the counter
        cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between the add and the increment
        cache.set(key, 1, timeout=timeout)
        return 1


_CLIENTS: dict[str, Any] = {}


def redis_client() -> Any | None:
    """The default cache's Redis server as one client per process, or None when the cache is
    not Redis. Django's RedisCache makes a new client object for every call and keeps its
    connection pools per thread; scripts (api.throttles) and the request cache (api.request_cache)
    share this one thread-safe pool."""
    store = caches["default"]
    if not isinstance(store, RedisCache):
        return None
    location = store._servers[0]
    client = _CLIENTS.get(location)
    if client is None:
        client = _CLIENTS.setdefault(location, Redis.from_url(location))
    return client
