"""Asking a background task to run soon, once per burst rather than once per change.

Several services leave work in a table for a task (the alerts outbox, hand-ins whose alert is
still to be raised) and want it done within seconds. Sending one Celery message per change cost
more than the work itself under load (bench/submit.py: a message, a task start and a transaction
per alert). `kick_soon` sends at most one message per task per KICK_DELAY in each process, with a
countdown of KICK_DELAY, and the task takes every row waiting when it runs.

Why no change is missed: a kick is skipped only when the same process sent one less than
KICK_DELAY ago; that message runs no earlier than KICK_DELAY after it was sent, so after every
commit whose kick was skipped (kicks are sent from `on_commit`). The periodic beat of each task
is the safety net when the broker was down.

With eager Celery (the embedded default and the tests) the task runs at once, in the caller.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

KICK_DELAY = 1.0  # seconds
_last_sent: dict[str, float] = {}


def kick_soon(task: Any) -> None:
    """Queue `task` (a Celery task without arguments) to run in about KICK_DELAY seconds."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.delay()
        return
    now = time.monotonic()
    if now - _last_sent.get(task.name, -KICK_DELAY) < KICK_DELAY:
        return  # the message sent less than KICK_DELAY ago runs after this commit
    try:
        task.apply_async(countdown=KICK_DELAY)
    except Exception:  # the broker is down: the beat schedule runs the task later
        log.warning("could not queue %s", task.name, exc_info=True)
        return
    _last_sent[task.name] = now
