"""Asking a background task to run soon, once per burst rather than once per change.

Several services leave work in a table for a task (the alerts outbox, hand-ins whose alert is
still to be raised) and want it done within seconds. Sending one Celery message per change cost
more than the work itself under load (bench/submit.py: a message, a task start and a transaction
per alert). `kick_soon` sends at most one message per task per KICK_DELAY in each process, with a
countdown of KICK_DELAY, and the task takes every row waiting when it runs.

Why no change is missed: a kick is skipped only when the same process sent one less than
KICK_DELAY ago; that message runs no earlier than KICK_DELAY after it was sent, so after every
commit whose kick was skipped (kicks are sent from `on_commit`). When the broker cannot be
reached the kick is dropped, and no kick is tried for BROKER_RETRY_AFTER seconds (a request must
not wait on a broker that is down); the workers' sweeps and beat (xinqiao.core.scheduler) do the
work within their interval.

With eager Celery (the embedded default and the tests) the task runs at once, in the caller.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

KICK_DELAY = 1.0  # seconds
BROKER_RETRY_AFTER = 5.0  # seconds without kicks after the broker could not be reached
_last_sent: dict[str, float] = {}
_broker_down_until = 0.0


def kick_soon(task: Any) -> None:
    """Queue `task` (a Celery task without arguments) to run in about KICK_DELAY seconds."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.delay()
        return
    global _broker_down_until
    now = time.monotonic()
    if now < _broker_down_until:
        return
    if now - _last_sent.get(task.name, -KICK_DELAY) < KICK_DELAY:
        return  # the message sent less than KICK_DELAY ago runs after this commit
    try:
        task.apply_async(countdown=KICK_DELAY, retry=False)
    except Exception:  # the broker is down: the sweeps run the task within their interval
        log.warning("could not queue %s", task.name, exc_info=True)
        _broker_down_until = now + BROKER_RETRY_AFTER
        return
    _last_sent[task.name] = now
