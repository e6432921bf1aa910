"""Escalation of missed alert deadlines happens exactly once per step (issue 5, "Done when").

Red (raised Monday 2026-11-30 09:00 Beijing time, never acknowledged): the school's
moral-education leaders (role school_admin) at +2 h, the leaders again when the guardian was not
informed by the end of that school day, the district station at +24 h. Orange: the leaders once
its 3-school-day deadline (term calendar) has passed. Yellow: a reminder to its owner, not to the
leader. The escalation task runs many times at every moment — and on PostgreSQL concurrently from
two threads, each with its own connection — and every step still gives exactly one Escalation row,
one Notification row and one InboxMessage per recipient.
"""

from __future__ import annotations

import datetime
import threading
from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from tests.conftest import _user
from xinqiao.access.roles import Role
from xinqiao.alerts import tasks
from xinqiao.alerts.deadlines import deadlines_for
from xinqiao.alerts.models import Alert, Escalation
from xinqiao.alerts.services import (
    acknowledge_alert,
    file_concern,
    mark_guardian_informed,
    run_escalations,
    verify_alert,
)
from xinqiao.audit.models import AuditEvent
from xinqiao.core.scheduler import Scheduler, declared_entries
from xinqiao.notifications import tasks as notification_tasks
from xinqiao.notifications.models import InboxMessage, Notification
from xinqiao.notifications.services import dispatch_outbox
from xinqiao.orgs.services import create_term

SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=SH)
H = datetime.timedelta(hours=1)
S = datetime.timedelta(seconds=1)

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


# --- helpers ----------------------------------------------------------------------------------


def _quiet(world) -> None:
    """Dismiss the world's open orange alert so that only the test's own alert can escalate."""
    verify_alert(world.alert_a1, actor=world.psych, outcome="dismissed", reason="测试：排除干扰")


def _raise(world, level_urgency: str, at: datetime.datetime, student=None) -> Alert:
    with time_machine.travel(at, tick=False):
        concern = file_concern(
            actor=world.psych,
            student=student or world.stu_a2,
            what_seen="测试线索",
            seen_on=at.astimezone(SH).date(),
            urgency=level_urgency,
        )
    return Alert.objects.get(pk=concern.alert_id)


def _in_threads(work: Callable[[], None], n: int = 2) -> None:
    """Run `work` in n threads started together, each with its own database connection."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "an escalation thread hung"
    assert errors == []


def _run_task(at: datetime.datetime, *, times: int = 4, concurrent: bool = False) -> None:
    """At `at` (time travelled): the beat task many times in a row, then (concurrent) in two
    threads at once, then the outbox dispatcher (also twice at once when concurrent)."""

    def many() -> None:
        for _ in range(times):
            tasks.run_escalations.apply().get()

    with time_machine.travel(at, tick=False):
        many()
        if concurrent:
            _in_threads(many)
            _in_threads(lambda: notification_tasks.dispatch_outbox.apply().get())
        notification_tasks.dispatch_outbox.apply().get()


def _steps(alert: Alert) -> list[str]:
    return sorted(Escalation.objects.filter(alert=alert).values_list("step", flat=True))


def _delivered(alert: Alert, step: str) -> dict[str, tuple[int, int]]:
    """{username: (outbox rows, inbox messages)} of the step's notifications."""
    kind = f"alert.escalated.{step}"
    out = Counter(
        Notification.objects.filter(alert=alert, kind=kind).values_list(
            "recipient__username", flat=True
        )
    )
    inbox = Counter(
        InboxMessage.objects.filter(notification__alert=alert, notification__kind=kind).values_list(
            "recipient__username", flat=True
        )
    )
    return {name: (out[name], inbox[name]) for name in out | inbox}


def _once_each(*users) -> dict[str, tuple[int, int]]:
    return {u.username: (1, 1) for u in users}


# --- red: +2 h leader, end of the school day leader (guardian), +24 h station -------------------


@pytest.mark.django_db(transaction=True)
def test_unacknowledged_red_escalates_at_2h_and_24h_exactly_once(world):
    _quiet(world)
    leader2 = _user("school_admin_a2", "甲校副德育主任", world.school_a, Role.SCHOOL_ADMIN)
    station2 = _user(
        "station_counsellor_a2", "甲区辅导员二", world.station_a, Role.STATION_COUNSELLOR
    )
    leaders, station = (world.school_admin, leader2), (world.station_counsellor, station2)
    alert = _raise(world, "plan", MONDAY_9)
    assert (alert.level, alert.status, alert.level_since) == ("red", "new", MONDAY_9)
    # The deadlines of the issue: acknowledge within 1 h, verify and inform the guardian the same
    # school day (Monday, end of day Beijing time).
    assert alert.acknowledge_by == MONDAY_9 + H
    assert alert.verify_by == alert.guardian_informed_by
    assert alert.guardian_informed_by == datetime.datetime(2026, 11, 30, 23, 59, 59, tzinfo=SH)

    # Past the 1 h acknowledgement deadline but before +2 h: nothing escalates.
    for at in (
        MONDAY_9 + H,
        MONDAY_9 + 2 * H - datetime.timedelta(minutes=1),
        MONDAY_9 + 2 * H - S,
    ):
        _run_task(at, concurrent=ON_POSTGRES)
        assert _steps(alert) == []
        assert not Notification.objects.filter(kind__startswith="alert.escalated").exists()

    # +2 h: the moral-education leaders, once each, however often and concurrently the task runs.
    for at in (MONDAY_9 + 2 * H, MONDAY_9 + 2 * H + S, MONDAY_9 + 3 * H):
        _run_task(at, concurrent=ON_POSTGRES)
        assert _steps(alert) == ["red_leader"]
        assert _delivered(alert, "red_leader") == _once_each(*leaders)
    escalation = Escalation.objects.get(alert=alert, step="red_leader")
    assert escalation.due_at == MONDAY_9 + 2 * H
    assert escalation.escalated_at == MONDAY_9 + 2 * H
    assert sorted(escalation.recipients) == sorted(u.pk for u in leaders)

    # The last second of the school day: the guardian deadline is not missed yet.
    _run_task(datetime.datetime(2026, 11, 30, 23, 59, 59, tzinfo=SH), concurrent=ON_POSTGRES)
    assert _steps(alert) == ["red_leader"]
    # Midnight: the guardian was not informed that school day → the leaders, once.
    for at in (
        datetime.datetime(2026, 12, 1, 0, 0, tzinfo=SH),
        MONDAY_9 + 24 * H - datetime.timedelta(minutes=1),
        MONDAY_9 + 24 * H - S,
    ):
        _run_task(at, concurrent=ON_POSTGRES)
        assert _steps(alert) == ["red_guardian", "red_leader"]
        assert _delivered(alert, "red_guardian") == _once_each(*leaders)
    assert not Notification.objects.filter(kind="alert.escalated.red_station").exists()

    # +24 h, not verified: the district station, once each.
    for at in (MONDAY_9 + 24 * H, MONDAY_9 + 25 * H, MONDAY_9 + 24 * 14 * H):
        _run_task(at, concurrent=ON_POSTGRES)
        assert _steps(alert) == ["red_guardian", "red_leader", "red_station"]
        assert _delivered(alert, "red_station") == _once_each(*station)
        assert _delivered(alert, "red_leader") == _once_each(*leaders)
        assert _delivered(alert, "red_guardian") == _once_each(*leaders)
    assert Escalation.objects.get(alert=alert, step="red_station").due_at == MONDAY_9 + 24 * H

    # Every notification reached its inbox exactly once and is marked dispatched; one audit
    # event per escalation.
    assert not Notification.objects.filter(dispatched_at__isnull=True).exists()
    assert InboxMessage.objects.count() == Notification.objects.count()
    events = AuditEvent.objects.filter(action="alerts.alert.escalated", object_id=str(alert.pk))
    assert sorted(e.fields["step"] for e in events) == ["red_guardian", "red_leader", "red_station"]


@pytest.mark.django_db
def test_acknowledged_red_skips_the_leader_and_reaches_the_station_if_not_verified(world):
    _quiet(world)
    alert = _raise(world, "plan", MONDAY_9)
    with time_machine.travel(MONDAY_9 + 0.5 * H, tick=False):
        acknowledge_alert(alert, actor=world.psych)
        mark_guardian_informed(alert, actor=world.psych)
    for at in (MONDAY_9 + 2 * H, MONDAY_9 + 23 * H):
        assert run_escalations(now=at) == 0
    assert run_escalations(now=MONDAY_9 + 24 * H) == 1
    assert run_escalations(now=MONDAY_9 + 48 * H) == 0
    assert _steps(alert) == ["red_station"]


@pytest.mark.django_db
def test_red_verified_the_same_day_with_the_guardian_informed_never_escalates(world):
    _quiet(world)
    alert = _raise(world, "plan", MONDAY_9)
    with time_machine.travel(MONDAY_9 + 0.5 * H, tick=False):
        acknowledge_alert(alert, actor=world.psych)
    with time_machine.travel(MONDAY_9 + 6 * H, tick=False):
        verify_alert(
            alert, actor=world.psych, outcome="confirmed", reason="访谈确认", guardian_informed=True
        )
    for hours in (2, 15, 24, 100):
        assert run_escalations(now=MONDAY_9 + hours * H) == 0
    assert _steps(alert) == []


@pytest.mark.django_db
def test_red_guardian_not_informed_escalates_to_the_leader_once(world):
    """Acknowledged and verified in time, but the guardian was not informed that school day."""
    _quiet(world)
    alert = _raise(world, "plan", MONDAY_9)
    with time_machine.travel(MONDAY_9 + 0.5 * H, tick=False):
        acknowledge_alert(alert, actor=world.psych)
    with time_machine.travel(MONDAY_9 + 6 * H, tick=False):
        verify_alert(alert, actor=world.psych, outcome="confirmed", reason="访谈确认")
    end_of_day = datetime.datetime(2026, 11, 30, 23, 59, 59, tzinfo=SH)
    assert run_escalations(now=end_of_day) == 0
    for _ in range(3):
        run_escalations(now=end_of_day + S)
    assert run_escalations(now=MONDAY_9 + 24 * H) == 0  # verified: not the station
    dispatch_outbox()
    assert _steps(alert) == ["red_guardian"]
    assert _delivered(alert, "red_guardian") == _once_each(world.school_admin)
    assert not Notification.objects.filter(alert=alert, recipient=world.psych, kind__contains="esc")


@pytest.mark.django_db
def test_guardian_informed_in_time_stops_the_guardian_step(world):
    _quiet(world)
    alert = _raise(world, "plan", MONDAY_9)
    with time_machine.travel(MONDAY_9 + 0.5 * H, tick=False):
        acknowledge_alert(alert, actor=world.psych)
    with time_machine.travel(MONDAY_9 + 6 * H, tick=False):
        verify_alert(alert, actor=world.psych, outcome="confirmed", reason="访谈确认")
    with time_machine.travel(MONDAY_9 + 8 * H, tick=False):
        mark_guardian_informed(alert, actor=world.psych)
        mark_guardian_informed(alert, actor=world.psych)  # idempotent: the first time stands
    alert.refresh_from_db()
    assert alert.guardian_informed_at == MONDAY_9 + 8 * H
    assert AuditEvent.objects.filter(action="alerts.alert.guardian_informed").count() == 1
    assert run_escalations(now=MONDAY_9 + 48 * H) == 0
    assert _steps(alert) == []


@pytest.mark.django_db
def test_red_raised_from_orange_counts_from_the_raise(world):
    """An orange alert raised to red: +2 h and +24 h count from the moment it turned red."""
    _quiet(world)
    orange = _raise(world, "soon", MONDAY_9)
    red = _raise(world, "plan", MONDAY_9 + 3 * H)
    assert red.pk == orange.pk
    assert (red.level, red.level_since) == ("red", MONDAY_9 + 3 * H)
    assert run_escalations(now=MONDAY_9 + 5 * H - S) == 0
    assert run_escalations(now=MONDAY_9 + 5 * H) == 1
    assert run_escalations(now=MONDAY_9 + 27 * H - S) == 1  # the guardian step at midnight
    assert run_escalations(now=MONDAY_9 + 27 * H) == 1
    assert _steps(red) == ["red_guardian", "red_leader", "red_station"]


# --- orange: the leader after its school-day deadline ------------------------------------------


@pytest.mark.django_db
def test_orange_escalates_to_the_leader_once_after_three_school_days(world):
    _quiet(world)
    friday = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=SH)
    alert = _raise(world, "soon", friday)
    deadline = datetime.datetime(2026, 12, 2, 23, 59, 59, tzinfo=SH)  # Mon, Tue, Wed
    assert alert.verify_by == deadline
    for at in (friday + 24 * H, friday + 72 * H, deadline):  # the weekend does not count
        assert run_escalations(now=at) == 0
    for _ in range(5):
        run_escalations(now=deadline + S)
    run_escalations(now=deadline + 240 * H)
    dispatch_outbox()
    assert _steps(alert) == ["orange_leader"]
    assert _delivered(alert, "orange_leader") == _once_each(world.school_admin)
    assert Escalation.objects.get(alert=alert).due_at == deadline


@pytest.mark.django_db
def test_orange_deadline_follows_the_term_calendar_over_the_winter_holiday(world):
    _quiet(world)
    create_term(
        actor=None,
        school_year_start=2026,
        season="spring",
        start_date=datetime.date(2027, 2, 22),
        end_date=datetime.date(2027, 7, 2),
    )
    thursday = datetime.datetime(2027, 1, 21, 10, 0, tzinfo=SH)  # the autumn term ends Fri 1/22
    alert = _raise(world, "soon", thursday)
    deadline = datetime.datetime(2027, 2, 23, 23, 59, 59, tzinfo=SH)  # Fri 1/22, Mon 2/22, Tue
    assert alert.verify_by == deadline
    assert deadlines_for("orange", thursday).verify_by == deadline
    for at in (datetime.datetime(2027, 1, 27, 0, 0, tzinfo=SH), deadline):  # holiday: no count
        assert run_escalations(now=at) == 0
    assert run_escalations(now=deadline + S) == 1
    assert run_escalations(now=deadline + 2 * S) == 0
    assert _steps(alert) == ["orange_leader"]


# --- yellow: a reminder to the owner, not the leader -------------------------------------------


@pytest.mark.django_db
def test_yellow_past_its_deadline_reminds_the_owner_once_not_the_leader(world):
    _quiet(world)
    alert = _raise(world, "watch", MONDAY_9)
    deadline = datetime.datetime(2026, 12, 14, 23, 59, 59, tzinfo=SH)  # 10 school days
    assert (alert.verify_by, alert.owner) == (deadline, world.psych)
    assert run_escalations(now=deadline) == 0
    for _ in range(4):
        run_escalations(now=deadline + S)
    run_escalations(now=deadline + 24 * 30 * H)
    dispatch_outbox()
    assert _steps(alert) == ["yellow_owner"]
    assert _delivered(alert, "yellow_owner") == _once_each(world.psych)
    reminder = InboxMessage.objects.get(notification__kind="alert.escalated.yellow_owner")
    assert reminder.subject.startswith("Reminder: Yellow alert past its verification deadline")
    assert not InboxMessage.objects.filter(recipient=world.school_admin).exists()


# --- nobody in the role: one level up -----------------------------------------------------------


@pytest.mark.django_db
def test_red_leader_step_goes_to_the_station_when_the_school_has_no_leader(world):
    _quiet(world)
    world.school_admin.is_active = False
    world.school_admin.save(update_fields=["is_active"])
    alert = _raise(world, "plan", MONDAY_9)
    assert run_escalations(now=MONDAY_9 + 2 * H) == 1
    dispatch_outbox()
    assert _delivered(alert, "red_leader") == _once_each(world.station_counsellor)
    event = AuditEvent.objects.get(action="alerts.alert.escalated", object_id=str(alert.pk))
    assert event.fields["to"] == "station_counsellor"


@pytest.mark.django_db
def test_escalation_offsets_are_configurable(world, settings):
    settings.ALERT_ESCALATION_HOURS = {"red_leader": 1.5}
    _quiet(world)
    alert = _raise(world, "plan", MONDAY_9)
    assert run_escalations(now=MONDAY_9 + 1.5 * H - S) == 0
    assert run_escalations(now=MONDAY_9 + 1.5 * H) == 1
    assert _steps(alert) == ["red_leader"]


# --- scheduling: celery beat in production, the embedded scheduler by default ------------------


def test_beat_schedule_runs_the_escalation_dispatch_and_raise_tasks():
    from config.celery import app

    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    # Often enough for the +2 h step to be on time to the minute.
    assert schedule["xinqiao.alerts.tasks.run_escalations"] <= 60
    assert schedule["xinqiao.notifications.tasks.dispatch_outbox"] <= 60
    # the safety net of queued hand-ins (normally asked for within a second)
    assert schedule["xinqiao.alerts.tasks.raise_pending_alerts"] <= 60
    app.loader.import_default_modules()  # what a worker does at start (autodiscover_tasks)
    assert app.tasks["xinqiao.alerts.tasks.run_escalations"].name == tasks.run_escalations.name
    assert "xinqiao.notifications.tasks.dispatch_outbox" in app.tasks
    assert "xinqiao.alerts.tasks.raise_pending_alerts" in app.tasks


@pytest.mark.django_db
def test_the_beat_task_escalates(world):
    _quiet(world)
    alert = _raise(world, "plan", MONDAY_9)
    with time_machine.travel(MONDAY_9 + 2 * H, tick=False):
        assert tasks.run_escalations.delay().get() == 1
        assert tasks.run_escalations.delay().get() == 0
        assert notification_tasks.dispatch_outbox.delay().get() >= 1
    assert _steps(alert) == ["red_leader"]


@pytest.mark.django_db
def test_embedded_scheduler_round_escalates_and_delivers(world):
    """The embedded default's scheduler (xinqiao.core.scheduler) runs the declared beat tasks."""
    _quiet(world)
    alert = _raise(world, "plan", MONDAY_9)
    with time_machine.travel(MONDAY_9 + 2 * H, tick=False):
        Scheduler(declared_entries(), clock=lambda: 0.0).run_due()
    assert _steps(alert) == ["red_leader"]
    assert _delivered(alert, "red_leader") == _once_each(world.school_admin)


def test_acknowledged_orange_raised_to_red_needs_a_new_acknowledgement(world):
    _quiet(world)
    alert = _raise(world, "soon", MONDAY_9)  # orange
    with time_machine.travel(MONDAY_9 + 10 * 60 * S, tick=False):
        acknowledge_alert(alert, actor=world.psych)
    raised = _raise(world, "plan", MONDAY_9 + H)  # red, attaches to the same alert
    assert raised.pk == alert.pk
    assert (raised.level, raised.status, raised.acknowledged_at) == ("red", "new", None)
    _run_task(MONDAY_9 + 3 * H - S)
    assert "red_leader" not in _steps(alert)
    _run_task(MONDAY_9 + 3 * H)
    assert "red_leader" in _steps(alert)
