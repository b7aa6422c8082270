"""Empty this test run's cache without touching anything else in a shared Redis.

Django's RedisCache.clear() is FLUSHDB: on a Redis shared with the broker and with other
test runs it would drop their keys too. Here only keys under this run's KEY_PREFIX go.
"""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def cache_is_redis() -> bool:
    return isinstance(caches["default"], RedisCache)


def clear_cache() -> None:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=cache.make_key("*").replace(":1:*", ":*"), count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()  # the database cache: a table in this run's own test database
