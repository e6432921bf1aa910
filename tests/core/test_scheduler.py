"""The one scheduler: the embedded default runs every task declared in CELERY_BEAT_SCHEDULE.

The tests iterate the declared schedule instead of naming tasks, so a task added to (or moved in)
settings is covered without touching this file.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest
from django.conf import settings

from xinqiao.core import scheduler
from xinqiao.core.scheduler import Entry, Scheduler, declared_entries, resolve


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeTask:
    def __init__(self, name: str, calls: list[str], fail: bool = False) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    def apply(self, throw: bool = False) -> None:
        self.calls.append(self.name)
        if self.fail:
            raise RuntimeError("boom")


def test_every_declared_entry_names_a_registered_task_and_an_interval():
    entries = declared_entries()
    assert {e.key for e in entries} == set(settings.CELERY_BEAT_SCHEDULE)
    for entry in entries:
        assert resolve(entry.task).name == entry.task
        assert entry.interval > 0


@pytest.mark.django_db
def test_one_round_runs_every_declared_task_for_real(monkeypatch):
    ran: list[str] = []
    for entry in declared_entries():
        task = resolve(entry.task)
        original = task.run

        def recording(*args: Any, _name: str = entry.task, _run: Any = original, **kw: Any) -> Any:
            ran.append(_name)
            return _run(*args, **kw)  # the task's own code, against the test database

        monkeypatch.setattr(task, "run", recording)

    keys = Scheduler(declared_entries(), clock=FakeClock()).run_due()

    assert sorted(keys) == sorted(settings.CELERY_BEAT_SCHEDULE)
    assert sorted(ran) == sorted(e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values())


def test_a_failing_task_is_logged_and_the_others_still_run(monkeypatch, caplog):
    calls: list[str] = []
    tasks = {
        "a": FakeTask("a", calls),
        "bad": FakeTask("bad", calls, fail=True),
        "c": FakeTask("c", calls),
    }
    monkeypatch.setattr(scheduler, "resolve", lambda name: tasks[name])
    entries = [
        Entry("first", "a", 10.0),
        Entry("broken", "bad", 10.0),
        Entry("missing", "no.such.task", 10.0),  # KeyError from the registry: isolated too
        Entry("last", "c", 10.0),
    ]

    keys = Scheduler(entries, clock=FakeClock()).run_due()

    assert keys == ["first", "last"]
    assert calls == ["a", "bad", "c"]
    failed = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("broken" in m for m in failed)
    assert any("missing" in m for m in failed)


def test_each_task_runs_at_its_own_interval(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(scheduler, "resolve", lambda name: FakeTask(name, calls))
    clock = FakeClock()
    sched = Scheduler([Entry("fast", "fast", 30.0), Entry("slow", "slow", 600.0)], clock=clock)

    def at(t: float) -> list[str]:
        clock.now = t
        return sched.run_due()

    assert at(0) == ["fast", "slow"]  # everything is due when the process starts
    assert at(29.9) == []
    assert at(30) == ["fast"]
    assert sched.seconds_to_next() == 30.0
    assert at(59) == []
    assert at(75) == ["fast"]  # late: runs once, next due 30 s after this run
    assert at(104) == []
    assert at(105) == ["fast"]
    assert at(600) == ["fast", "slow"]
    assert calls.count("slow") == 2


def test_on_in_the_embedded_default_off_when_told_or_not_eager_or_under_pytest(
    settings, monkeypatch
):
    assert not scheduler.enabled()  # under pytest
    monkeypatch.delitem(sys.modules, "pytest")
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default (no REDIS_URL)
    settings.EMBEDDED_SCHEDULER = True
    assert scheduler.enabled()
    settings.EMBEDDED_SCHEDULER = False
    assert not scheduler.enabled()
    settings.EMBEDDED_SCHEDULER = True
    settings.CELERY_TASK_ALWAYS_EAGER = False  # production: celery beat runs the schedule
    assert not scheduler.enabled()


def test_start_once_starts_no_thread_under_pytest():
    before = threading.active_count()
    scheduler.start_once()
    assert threading.active_count() == before
    assert not scheduler._started


def test_the_loop_closes_database_connections_after_each_round(monkeypatch):
    class Stop(BaseException):
        pass

    closed: list[bool] = []
    monkeypatch.setattr(scheduler, "resolve", lambda name: FakeTask(name, []))
    monkeypatch.setattr("django.db.connections.close_all", lambda: closed.append(True))

    def stop(seconds: float) -> None:
        assert seconds >= 1.0
        raise Stop

    monkeypatch.setattr(scheduler.time, "sleep", stop)
    with pytest.raises(Stop):
        Scheduler([Entry("x", "x", 30.0)], clock=FakeClock()).loop()
    assert closed == [True]


@pytest.mark.django_db
def test_a_round_records_the_runners_heartbeat(monkeypatch):
    from xinqiao.core.models import Heartbeat

    monkeypatch.setattr(scheduler, "resolve", lambda name: FakeTask(name, []))
    clock = FakeClock()
    sched = Scheduler([Entry("x", "x", 30.0)], name="worker celery@host", clock=clock)
    sched.run_due()
    first = Heartbeat.objects.get(name="worker celery@host").at
    clock.now = 30
    sched.run_due()
    assert Heartbeat.objects.get().at > first  # one row per runner, moved on each round


def test_nothing_a_round_raises_stops_the_loop(monkeypatch, caplog):
    """A database that went away fails the round (and its heartbeat), not the runner."""

    class Stop(BaseException):
        pass

    rounds: list[int] = []

    def broken_round(self: Scheduler) -> list[str]:
        rounds.append(1)
        raise RuntimeError("server closed the connection unexpectedly")

    def sleep(seconds: float) -> None:
        if len(rounds) == 3:
            raise Stop

    monkeypatch.setattr(Scheduler, "run_due", broken_round)
    monkeypatch.setattr("django.db.connections.close_all", lambda: 1 / 0)  # even this
    monkeypatch.setattr(scheduler.time, "sleep", sleep)
    with pytest.raises(Stop):
        Scheduler([Entry("x", "x", 30.0)], clock=FakeClock()).loop()
    assert len(rounds) == 3
    assert sum("a round failed" in r.getMessage() for r in caplog.records) == 3


def test_workers_sweep_the_alert_chains_queues_declared_in_the_schedule(settings):
    entries = scheduler.sweep_entries()
    assert {e.key for e in entries} == set(settings.WORKER_SWEEPS)
    assert {e.task for e in entries} >= {
        "xinqiao.alerts.tasks.raise_pending_alerts",
        "xinqiao.notifications.tasks.dispatch_outbox",
    }
    assert max(e.interval for e in entries) <= 60  # an alert within a minute of a fault
    settings.WORKER_SWEEPS = [*settings.WORKER_SWEEPS, "no-such-entry"]
    with pytest.raises(ValueError, match="no-such-entry"):
        scheduler.sweep_entries()
