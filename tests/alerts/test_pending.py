"""Hand-ins whose rules fire are queued in their own transaction and raised in batches.

Production (a real Celery worker): `evaluate_submission` writes a `PendingSubmission` and the
worker's `raise_pending_alerts` raises many at once. The embedded default runs the same function
inside the hand-in (tests/alerts/test_rules.py covers that path rule by rule).
"""

from __future__ import annotations

import datetime
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import respond
from xinqiao.access.services import create_staff
from xinqiao.alerts import hooks
from xinqiao.alerts import services as alert_services
from xinqiao.alerts.models import Alert, AlertTrigger, PendingSubmission
from xinqiao.alerts.services import hand_ins, raise_pending_alerts
from xinqiao.audit.models import AuditEvent
from xinqiao.audit.services import verify_chain
from xinqiao.core import queue
from xinqiao.notifications import services as notification_services
from xinqiao.notifications.models import Notification
from xinqiao.people.services import create_student
from xinqiao.screening.models import Assignment

from .test_rules import phq_a, run

# The module, not the function `services.notify` that the package re-exports under its name.

pytestmark = pytest.mark.django_db

RED_ASQ = [1, 0, 0, 0, 5]  # acuity yes: red, and the screen is positive: orange


@pytest.fixture
def queued(settings, monkeypatch):
    """The production behaviour: hand-ins are queued, not raised inline; the tasks the services
    ask for are recorded instead of sent to a broker (the tests run the worker's side)."""
    settings.ALERTS_RAISE_INLINE = False
    kicked: list = []
    monkeypatch.setattr(hand_ins, "kick_soon", kicked.append)
    monkeypatch.setattr(notification_services, "kick_soon", kicked.append)
    return kicked


def extra_students(world, n):
    """n more students of school A's class A1, each with an assignment of the open campaign."""
    out = []
    for i in range(n):
        student = create_student(
            actor=None,
            student_number=f"G37010220130{i:07d}",
            name=f"学生{i}",
            gender="F",
            birth_date=datetime.date(2013, 1, 1),
            school_class=world.class_a1,
            term=world.term,
        )
        # outside a test transaction the campaign has assigned the new student already
        assignment, _created = Assignment.objects.get_or_create(
            campaign=world.campaign,
            student=student,
            defaults={
                "school": world.school_a,
                "school_class": world.class_a1,
                "stage_band": "junior",
            },
        )
        out.append(assignment)
    return out


def two_workers_at_once(work):
    """`work()` in two threads (two workers, each with its own connection) started together;
    their results. An exception in either fails the test."""
    barrier = threading.Barrier(2)
    results: list = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            results.append(work())
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def hand_in(world, assignment, answers=RED_ASQ, code="ASQ"):
    student = assignment.student
    return run(world, respond(assignment, code, answers), student=student)


def test_a_queued_hand_in_raises_nothing_until_the_worker_runs(world, queued):
    [assignment] = extra_students(world, 1)
    assert hand_in(world, assignment) == []
    assert not Alert.objects.filter(student=assignment.student).exists()
    pending = PendingSubmission.objects.get()
    assert (pending.assignment_id, pending.student_id) == (assignment.pk, assignment.student_id)

    raised = raise_pending_alerts()

    alert = Alert.objects.get(student=assignment.student)
    assert raised == {assignment.pk: alert}
    assert alert.level == "red"
    assert alert.owner == world.psych
    assert {t.rule for t in alert.triggers.all()} == {
        "red.asq_acuity",
        "orange.asq_screen_positive",
    }
    # the evidence names the stored response, as inline
    [response_id] = {t.response_id for t in alert.triggers.all()}
    assert response_id == assignment.responses.get().pk
    assert [e["level"] for e in alert.evidence] == ["red", "orange"]
    assert list(Notification.objects.filter(alert=alert).values_list("recipient", flat=True)) == [
        world.psych.pk
    ]
    actions = list(
        AuditEvent.objects.filter(object_id=str(alert.pk), object_type="alerts.alert")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["alerts.alert.raised", "alerts.alert.trigger_attached"]
    assert not PendingSubmission.objects.exists()
    assert raise_pending_alerts() == {}  # nothing twice
    assert verify_chain()[0]


def test_the_hand_in_asks_the_worker_after_it_commits(
    world, queued, django_capture_on_commit_callbacks
):
    kicked = queued
    [assignment] = extra_students(world, 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        hand_in(world, assignment)
    assert kicked == []  # not before the commit
    for callback in callbacks:
        callback()
    assert [task.name for task in kicked] == ["xinqiao.alerts.tasks.raise_pending_alerts"]


def test_a_batch_costs_the_same_statements_for_two_or_six_hand_ins(world, queued):
    assignments = extra_students(world, 8)
    counts = []
    for batch in (assignments[:2], assignments[2:]):
        for a in batch:
            hand_in(world, a)
        with CaptureQueriesContext(connection) as queries:
            raised = raise_pending_alerts()
        assert len(raised) == len(batch)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert Alert.objects.filter(student__in=[a.student_id for a in assignments]).count() == 8
    assert Notification.objects.filter(
        kind="alert.raised", alert__student__school=world.school_a
    ).count()


def test_the_batch_attaches_to_open_alerts_and_raises_their_level(world, queued):
    # stu_a1 has an open orange alert from a concern (world.alert_a1)
    assignment = Assignment.objects.get(campaign=world.campaign, student=world.stu_a1)
    [new_one] = extra_students(world, 1)
    hand_in(world, assignment)
    hand_in(world, new_one, phq_a(item9=1), code="PHQ-A")
    raised = raise_pending_alerts()
    world.alert_a1.refresh_from_db()
    assert raised[assignment.pk] == world.alert_a1
    assert world.alert_a1.level == "red"
    assert world.alert_a1.evidence[-2]["rule"] == "red.asq_acuity"
    assert Notification.objects.filter(alert=world.alert_a1, kind="alert.level_raised").exists()
    assert raised[new_one.pk].level == "orange"


def test_a_new_alert_of_a_student_with_an_open_case_goes_to_the_case_owner(world, queued):
    # school A's first psychology teacher would own it; stu_a2's open case belongs to another
    second = create_staff(
        actor=None,
        username="psych_a_second",
        name="甲校第二位心理老师",
        org_unit=world.school_a,
        roles=[("psychology_teacher", world.school_a)],
    ).user
    world.case_a2.owner = second
    world.case_a2.save()
    assignment = Assignment.objects.get(campaign=world.campaign, student=world.stu_a2)
    [other] = extra_students(world, 1)
    hand_in(world, assignment, phq_a(item9=1), code="PHQ-A")
    hand_in(world, other, phq_a(item9=1), code="PHQ-A")
    raised = raise_pending_alerts()
    assert raised[assignment.pk].owner == second
    assert raised[other.pk].owner == world.psych
    assert [r.recipient for r in Notification.objects.filter(alert=raised[assignment.pk])] == [
        second
    ]


def test_an_alert_opened_meanwhile_is_attached_to_not_duplicated(world, queued):
    """A concern may open the student's alert between the batch's lock and its INSERT; the
    batch then attaches, student by student, as raise_alert does."""
    [assignment] = extra_students(world, 1)
    hand_in(world, assignment)
    student = assignment.student

    fired = []

    def concern_meanwhile(students):
        if not fired:  # once: the concern's own raise asks this resolver too
            fired.append(True)
            alert_services.file_concern(
                actor=world.committee,
                student=student,
                what_seen="上课一直哭",
                seen_on=timezone.localdate(),
                urgency="soon",
            )
        return {}

    # Asked first (the counselling app's duty resolver answers every student after the cases one).
    hooks._owner_resolvers.insert(0, concern_meanwhile)
    try:
        raised = raise_pending_alerts()
    finally:
        hooks._owner_resolvers.remove(concern_meanwhile)
    alert = Alert.objects.get(student=student)
    assert raised == {assignment.pk: alert}
    assert alert.level == "red"
    assert alert.source == "committee_member"  # the concern opened it
    assert sorted(alert.triggers.values_list("rule", flat=True)) == [
        "concern.soon",
        "orange.asq_screen_positive",
        "red.asq_acuity",
    ]


def test_the_management_command_drains_the_queue(world, queued):
    assignments = extra_students(world, 3)
    for a in assignments:
        hand_in(world, a)
    out = io.StringIO()
    call_command("run_escalations", stdout=out)
    assert out.getvalue().startswith("raised=3 ")
    assert Alert.objects.filter(student__in=[a.student_id for a in assignments]).count() == 3


@pytest.mark.django_db(transaction=True)  # the failing batch is its own transaction
def test_a_failure_leaves_the_hand_in_queued_and_nothing_half_raised(world, queued, monkeypatch):
    [assignment] = extra_students(world, 1)
    hand_in(world, assignment)

    def broken(events):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hand_ins, "record_events", broken)
    with pytest.raises(RuntimeError):
        raise_pending_alerts()
    assert PendingSubmission.objects.filter(assignment_id=assignment.pk).exists()
    assert not Alert.objects.filter(student=assignment.student).exists()
    assert not AlertTrigger.objects.filter(alert__student=assignment.student).exists()
    monkeypatch.undo()
    assert raise_pending_alerts()[assignment.pk].level == "red"


@pytest.mark.django_db(transaction=True)  # each failing batch is its own transaction
def test_a_hand_in_that_cannot_be_raised_does_not_hold_back_the_others(world, queued, monkeypatch):
    assignments = extra_students(world, 3)
    for a in assignments:
        hand_in(world, a)
    poison = assignments[1]
    real = hand_ins._triggers_of

    def broken_for_one(assignment_id, *args):
        if assignment_id == poison.pk:
            raise ValueError("unreadable evidence")
        return real(assignment_id, *args)

    monkeypatch.setattr(hand_ins, "_triggers_of", broken_for_one)
    assert alert_services.raise_all_pending_alerts() == 2
    for a in assignments:
        assert Alert.objects.filter(student=a.student).exists() == (a != poison)
    assert list(PendingSubmission.objects.values_list("assignment_id", flat=True)) == [poison.pk]
    monkeypatch.undo()
    assert alert_services.raise_all_pending_alerts() == 1  # mended: the next run raises it


def test_held_rules_ask_for_a_resit_from_the_worker(world, queued):
    assignment = Assignment.objects.get(campaign=world.campaign, student=world.stu_a2)
    phq = respond(assignment, "PHQ-A", phq_a(total_from_rest=14), valid=False)
    assert run(world, phq) == []
    assert not Assignment.objects.filter(resit_of=assignment).exists()
    assert raise_pending_alerts() == {assignment.pk: None}
    assert Assignment.objects.get(resit_of=assignment).status == "assigned"


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_queue_without_raising_twice(world, queued):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE SKIP LOCKED) exist on PostgreSQL only")
    assignments = extra_students(world, 6)
    for a in assignments:
        hand_in(world, a)
    results = two_workers_at_once(lambda: raise_pending_alerts(limit=4))
    raised = [pk for batch in results for pk in batch]
    raised += list(raise_pending_alerts())  # whatever both left
    assert sorted(raised) == sorted(a.pk for a in assignments)
    for a in assignments:
        assert Alert.objects.filter(student=a.student).count() == 1
    assert verify_chain()[0]


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_hand_ins_of_the_same_students_raise_one_alert_each(world, queued):
    """A student's original and re-sit hand-ins land in different workers' batches: both
    create the student's alert at once; the second waits on the unique index, then attaches."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE SKIP LOCKED) exist on PostgreSQL only")
    originals = extra_students(world, 3)
    resits = [
        Assignment.objects.create(
            campaign=world.campaign,
            student_id=a.student_id,
            school=world.school_a,
            school_class=world.class_a1,
            stage_band=a.stage_band,
            resit_of=a,
        )
        for a in originals
    ]
    for a in originals:
        hand_in(world, a, phq_a(item9=1), code="PHQ-A")
    for a in resits:
        hand_in(world, a)
    two_workers_at_once(lambda: raise_pending_alerts(limit=3))
    assert not PendingSubmission.objects.exists()
    for a in originals:
        [alert] = Alert.objects.filter(student_id=a.student_id)
        assert alert.level == "red"
        assert sorted(alert.triggers.values_list("rule", flat=True)) == [
            "orange.asq_screen_positive",
            "orange.phq_item9",
            "red.asq_acuity",
        ]
    assert verify_chain()[0]


class FakeTask:
    """Stands in for a Celery task: what would have been sent to the broker."""

    name = "tests.fake"

    def __init__(self, broker_down=False):
        self.sent = []
        self.broker_down = broker_down

    def apply_async(self, countdown, retry=True):
        if self.broker_down:
            raise ConnectionRefusedError(111, "Connection refused")
        self.sent.append(countdown)

    def delay(self):
        self.sent.append("now")


def test_kick_soon_sends_one_message_per_second_per_task(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    clock = [1000.0]
    monkeypatch.setattr(queue.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(queue, "_last_sent", {})
    task = FakeTask()
    queue.kick_soon(task)
    clock[0] += 0.5
    queue.kick_soon(task)  # the first message runs after this one's commit anyway
    assert task.sent == [queue.KICK_DELAY]
    clock[0] += 0.6
    queue.kick_soon(task)
    assert task.sent == [queue.KICK_DELAY, queue.KICK_DELAY]


def test_kick_soon_gives_a_broker_that_is_down_a_rest(settings, monkeypatch):
    """A request must not wait on a broker that is down: after one refusal no kick is tried for
    BROKER_RETRY_AFTER seconds (the workers' sweeps do the work meanwhile)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    clock = [1000.0]
    monkeypatch.setattr(queue.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(queue, "_last_sent", {})
    monkeypatch.setattr(queue, "_broker_down_until", 0.0)
    down, up = FakeTask(broker_down=True), FakeTask()
    queue.kick_soon(down)  # refused: logged, not raised
    queue.kick_soon(up)
    clock[0] += queue.BROKER_RETRY_AFTER - 0.1
    queue.kick_soon(up)
    assert up.sent == []  # not tried while the broker rests
    clock[0] += 0.2
    queue.kick_soon(up)
    assert up.sent == [queue.KICK_DELAY]


def test_kick_soon_runs_at_once_with_eager_celery(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    task = FakeTask()
    queue.kick_soon(task)
    assert task.sent == ["now"]


def test_a_stalled_queue_shows_on_the_worklist_of_the_school_only(world, queued, client_for):
    [assignment] = extra_students(world, 1)
    hand_in(world, assignment)
    url = "/alerts/"
    assert b"alerts-stalled" not in client_for(world.psych).get(url).content  # just queued
    PendingSubmission.objects.update(queued_at=timezone.now() - datetime.timedelta(minutes=3))
    page = client_for(world.psych).get(url).content.decode()
    assert 'data-testid="alerts-stalled"' in page
    assert "1 screening hand-ins" in page
    assert b"alerts-stalled" not in client_for(world.psych_b).get(url).content  # other school
    raise_pending_alerts()
    assert b"alerts-stalled" not in client_for(world.psych).get(url).content
