"""A cache that outlives Redis: Redis while it answers, the process's memory while it does not.

The cache holds nothing that must survive (sign-in failure counts for rate limiting, derived
values), so a class must still be able to sign in while Redis restarts. While Redis is
unreachable every call goes to a per-process memory cache; after `RETRY_AFTER` seconds the next
call tries Redis again. The cost during an outage: a rate limit counts per process rather than
across processes (a guesser gets at most one limit per web process), and values cached in memory
are forgotten when Redis is back.

    CACHES = {"default": {"BACKEND": "xinqiao.core.cache.FallbackRedisCache",
                          "LOCATION": "redis://…", "OPTIONS": {"retry_after": 5}}}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
RETRY_AFTER = 5.0  # seconds between attempts to reach Redis again
T = TypeVar("T")


class FallbackRedisCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        params = dict(params)
        options = dict(params.pop("OPTIONS", None) or {})
        self.retry_after = float(options.pop("retry_after", RETRY_AFTER))
        # Fail fast: a request waits at most this long for an unreachable Redis, once.
        options.setdefault("socket_connect_timeout", 1)
        options.setdefault("socket_timeout", 2)
        super().__init__(params)
        self.primary = RedisCache(location, {**params, "OPTIONS": options})
        self.fallback = LocMemCache(f"xinqiao-fallback-{location}", params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def redis_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if not self.redis_down:
            try:
                return getattr(self.primary, method)(*args, **kwargs)
            except UNREACHABLE as exc:
                with self._lock:
                    if not self.redis_down:
                        log.warning("cache: Redis unreachable (%s); using process memory", exc)
                    self._down_until = time.monotonic() + self.retry_after
        return getattr(self.fallback, method)(*args, **kwargs)

    def _delegate(name: str) -> Callable[..., Any]:  # type: ignore[misc]  # class-body helper
        def method(self: FallbackRedisCache, *args: Any, **kwargs: Any) -> Any:
            return self._call(name, *args, **kwargs)

        method.__name__ = name
        return method

    add = _delegate("add")
    get = _delegate("get")
    set = _delegate("set")
    touch = _delegate("touch")
    delete = _delegate("delete")
    get_many = _delegate("get_many")
    set_many = _delegate("set_many")
    delete_many = _delegate("delete_many")
    has_key = _delegate("has_key")
    incr = _delegate("incr")
    decr = _delegate("decr")
    clear = _delegate("clear")
    del _delegate

    def close(self, **kwargs: Any) -> None:
        self.primary.close(**kwargs)
