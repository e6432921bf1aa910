"""Students sign in while Redis (the cache) is down; the rate limit counts in the process.
(A hand-in while the broker is down: tests/alerts/test_pending.py and bench/faults.py.)"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.redis_server import free_port
from xinqiao.screening.taking.session import COOKIE_NAME, FAILURE_LIMIT

from .taking_helpers import enter


@pytest.mark.django_db
def test_students_sign_in_and_the_rate_limit_holds_while_redis_is_down(settings, world, sitting):
    settings.CACHES = {
        "default": {
            "BACKEND": "xinqiao.core.cache.FallbackRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }
    response = enter(Client(), sitting, world.stu_a1)
    assert response.status_code == 302
    assert COOKIE_NAME in response.cookies
    guesser = Client()
    for _ in range(FAILURE_LIMIT):
        assert guesser.post("/take/", {"code": "QQQQQQ"}).status_code == 400  # unknown code
    assert guesser.post("/take/", {"code": "QQQQQQ"}).status_code == 429  # counted in memory
