"""Counting attempts per key in a time window, in the cache (Redis, or the process's memory while
Redis is down: see core/cache.py)."""

from __future__ import annotations

from django.core.cache import cache


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one attempt under `key`: False from the (limit + 1)-th attempt within `window`
    seconds of the first."""
    if cache.add(key, 1, window):
        return limit >= 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)
        return limit >= 1
    return count <= limit
