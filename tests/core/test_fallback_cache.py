"""The cache outlives Redis: memory while it is down, Redis again when it is back (signing in
while Redis is down: tests/screening/test_taking_without_redis.py)."""

from __future__ import annotations

import pytest
import redis

from xinqiao.core.cache import FallbackRedisCache


def fallback_cache(url: str) -> FallbackRedisCache:
    return FallbackRedisCache(url, {"OPTIONS": {"retry_after": 0.2}})


def test_with_redis_up_the_values_live_in_redis(redis_server):
    cache = fallback_cache(redis_server.url)
    assert cache.add("k", 1, 60)
    assert cache.incr("k") == 2
    assert cache.get_many(["k", "missing"]) == {"k": 2}
    assert redis.Redis.from_url(redis_server.url).keys("*")  # stored there, not in the process
    assert not cache.redis_down


def test_redis_down_falls_back_to_memory_and_returns_when_redis_does(redis_server):
    cache = fallback_cache(redis_server.url)
    redis_server.stop()
    assert cache.add("k", 1, 60)  # no error: the process's memory took it
    assert cache.redis_down
    assert cache.incr("k") == 2
    assert cache.get("k") == 2
    with pytest.raises(ValueError, match="never-set"):  # the memory cache keeps Django's contract
        cache.incr("never-set")
    redis_server.start()
    cache._down_until = 0  # the retry interval has passed
    assert cache.get("k") is None  # Redis again (nothing persisted across its restart)
    assert cache.add("k", 5, 60)
    assert int(redis.Redis.from_url(redis_server.url).get(cache.make_and_validate_key("k"))) == 5
