"""The one scheduler of periodic work.

Periodic tasks are declared once, in `settings.CELERY_BEAT_SCHEDULE` (a task name and an interval
in seconds per entry). In production celery beat reads that declaration and workers run the tasks.
The embedded default (eager Celery, no beat) runs the same declaration here: a daemon thread of the
web process, started on the first request, runs every declared task at its interval. Task names
are resolved from the Celery app's registry, so an app declares its periodic work in settings and
nowhere else.

Off under pytest, when Celery is not eager (beat's job then) and when `EMBEDDED_SCHEDULER` is
false. Each task runs on its own: one that fails is logged and the others still run.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

# Longest nap between rounds, so a changed clock or a late start is noticed within a minute.
MAX_SLEEP = 60.0


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's name in CELERY_BEAT_SCHEDULE
    task: str  # the registered Celery task name
    interval: float  # seconds


def declared_entries() -> list[Entry]:
    """Every entry of CELERY_BEAT_SCHEDULE whose schedule is a plain interval."""
    from django.conf import settings

    entries = []
    for key, spec in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).items():
        schedule = spec["schedule"]
        if isinstance(schedule, timedelta):
            schedule = schedule.total_seconds()
        if not isinstance(schedule, int | float):
            # a crontab needs beat; the embedded default would silently never run it
            raise ValueError(f"periodic task {key!r}: the schedule must be seconds")
        entries.append(Entry(key=key, task=spec["task"], interval=float(schedule)))
    return entries


@cache
def _registry() -> Any:
    from celery import current_app

    current_app.loader.import_default_modules()  # autodiscover, as a worker does at start
    return current_app.tasks


def resolve(name: str) -> Any:
    """The registered Celery task called `name` (KeyError when no app defines it)."""
    return _registry()[name]


class Scheduler:
    """Runs declared entries when due. `run_due` is one round; `clock` is injectable for tests."""

    def __init__(
        self, entries: list[Entry], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.entries = entries
        self.clock = clock
        self.next_run: dict[str, float] = {}  # an entry never run yet is due at once

    def run_due(self) -> list[str]:
        """Run every entry whose time has come, each isolated; the keys of those that ran."""
        now = self.clock()
        ran = []
        for entry in self.entries:
            if self.next_run.get(entry.key, now) > now:
                continue
            self.next_run[entry.key] = now + entry.interval
            try:
                resolve(entry.task).apply(throw=True)
            except Exception:
                log.exception("scheduler: periodic task %s (%s) failed", entry.key, entry.task)
            else:
                ran.append(entry.key)
        return ran

    def seconds_to_next(self) -> float:
        now = self.clock()
        waits = [self.next_run.get(e.key, now) - now for e in self.entries]
        return min([MAX_SLEEP, *waits]) if waits else MAX_SLEEP

    def loop(self) -> None:
        from django.db import connections

        while True:
            try:
                self.run_due()
            finally:
                # the thread would otherwise hold its connections (and SQLite's file) forever
                connections.close_all()
            time.sleep(max(self.seconds_to_next(), 1.0))


def enabled() -> bool:
    from django.conf import settings

    return (
        bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))
        and bool(getattr(settings, "EMBEDDED_SCHEDULER", True))
        and "pytest" not in sys.modules
    )


_started = False
_lock = threading.Lock()


def start_once(**kwargs: Any) -> None:
    """Start the embedded scheduler's thread, once per process (a request_started receiver)."""
    global _started
    if _started or not enabled():
        return
    with _lock:
        if _started:
            return
        _started = True
        scheduler = Scheduler(declared_entries())
        threading.Thread(target=scheduler.loop, name="xinqiao-scheduler", daemon=True).start()
