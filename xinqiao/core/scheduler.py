"""The one scheduler of periodic work.

Periodic tasks are declared once, in `settings.CELERY_BEAT_SCHEDULE` (a task name and an interval
in seconds per entry). In production celery beat reads that declaration and workers run the tasks.
The embedded default (eager Celery, no beat) runs the same declaration here: a daemon thread of the
web process, started on the first request, runs every declared task at its interval. Task names
are resolved from the Celery app's registry, so an app declares its periodic work in settings and
nowhere else.

Off under pytest, when Celery is not eager (beat's job then) and when `EMBEDDED_SCHEDULER` is
false. Each task runs on its own: one that fails is logged and the others still run, and nothing
a round raises stops the thread.

Every Celery worker also runs the entries named in `settings.WORKER_SWEEPS` (the queues of the
alert chain: hand-ins waiting for their alert, undelivered notifications, missed deadlines) in a
thread of its main process, started by `worker_init`: the tasks run there, on the database alone,
so the chain moves within one interval of any fault clearing — with or without celery beat, with
Redis down, after a worker restart (its first round runs at once) or a lost message (a message
held by a killed worker only comes back after the broker's visibility timeout). Both runners
record a `Heartbeat` after each round (xinqiao.core.health reads its age).
"""

from __future__ import annotations

import logging
import socket
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
        self,
        entries: list[Entry],
        *,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.entries = entries
        self.name = name  # the heartbeat's name; none without one
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
        if ran and self.name:
            beat(self.name)
        return ran

    def seconds_to_next(self) -> float:
        now = self.clock()
        waits = [self.next_run.get(e.key, now) - now for e in self.entries]
        return min([MAX_SLEEP, *waits]) if waits else MAX_SLEEP

    def loop(self) -> None:
        while True:
            self.run_round()
            time.sleep(max(self.seconds_to_next(), 1.0))

    def run_round(self) -> None:
        """`run_due`, whatever it raises (a database that went away, a failing heartbeat): the
        runner must outlive every fault it is there to recover from."""
        from django.db import connections

        try:
            self.run_due()
        except Exception:
            log.exception("scheduler: a round failed")
        finally:
            # Held between rounds, a connection would pin SQLite's file, outlive a restarted
            # PostgreSQL, and be inherited by the pool processes a worker forks.
            try:
                connections.close_all()
            except Exception:
                log.warning("scheduler: closing connections failed", exc_info=True)


def beat(name: str) -> None:
    """Record that runner `name` finished a round."""
    from django.utils import timezone

    from .models import Heartbeat

    Heartbeat.objects.update_or_create(name=name[:200], defaults={"at": timezone.now()})


def enabled() -> bool:
    from django.conf import settings

    return (
        bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))
        and bool(getattr(settings, "EMBEDDED_SCHEDULER", True))
        and "pytest" not in sys.modules
    )


_started = False
_lock = threading.Lock()


def _start_thread(scheduler: Scheduler) -> None:
    def run() -> None:
        from django.apps import apps

        while not apps.ready:  # a worker sends worker_init while Django is still being set up
            time.sleep(0.1)
        scheduler.loop()

    threading.Thread(target=run, name="xinqiao-scheduler", daemon=True).start()


def start_once(**kwargs: Any) -> None:
    """Start the embedded scheduler's thread, once per process (a request_started receiver)."""
    global _started
    if _started or not enabled():
        return
    with _lock:
        if _started:
            return
        _started = True
        _start_thread(Scheduler(declared_entries(), name=f"embedded@{socket.gethostname()}"))


def sweep_entries() -> list[Entry]:
    """The declared entries every Celery worker runs itself (settings.WORKER_SWEEPS)."""
    from django.conf import settings

    keys = set(getattr(settings, "WORKER_SWEEPS", ()))
    entries = [e for e in declared_entries() if e.key in keys]
    if unknown := keys - {e.key for e in entries}:
        raise ValueError(f"WORKER_SWEEPS names undeclared entries: {sorted(unknown)}")
    return entries


def start_worker_sweeps(sender: Any = None, **kwargs: Any) -> None:
    """Celery `worker_init` receiver: the worker's sweep thread (see the module's docstring)."""
    entries = sweep_entries()
    if entries:
        node = getattr(sender, "hostname", None) or f"celery@{socket.gethostname()}"
        _start_thread(Scheduler(entries, name=f"worker {node}"))
