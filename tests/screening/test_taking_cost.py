"""What keeps the student path cheap does not change what it does (issue 4, "Scale and speed").

The sign-in is one lookup, the questionnaire page comes from a per-process shell, a hand-in that
fires several alert rules writes its alert, triggers, audit events and notification in a fixed
number of statements — with the same rows as before — and in production only queues itself for
the worker (one statement more than a calm hand-in).
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.shortcuts import render
from django.test import Client
from django.test.utils import CaptureQueriesContext

from xinqiao.alerts.models import OPEN_STATUSES, Alert, Outcome, Source, Status
from xinqiao.alerts.services import raise_alert
from xinqiao.audit.models import AuditEvent
from xinqiao.audit.services import record_event, record_events, verify_chain
from xinqiao.notifications.models import Notification
from xinqiao.screening import services as screening
from xinqiao.screening.models import AssignmentStatus
from xinqiao.screening.taking import services as taking_services
from xinqiao.screening.taking import views

from .taking_helpers import assignment_of, enter, full_answers, make_open_campaign, post_json

pytestmark = pytest.mark.django_db

SAVE = "/take/api/answers/"
SUBMIT = "/take/api/submit/"


@pytest.fixture(autouse=True)
def _clear_rate_limit():
    cache.clear()


def statements(ctx) -> list[str]:
    """SQL sent, without the test's own savepoints (see test_submit.statements)."""
    return [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]


def test_sign_in_is_one_lookup_one_update_and_the_audit_append(world, sitting, campaign):
    client = Client()
    # As in real use: the process's caches are warm (the alert rule sets) and the database
    # session has prepared its statements (a first sign-in on it does, whatever the code).
    client.post("/take/", {"code": "ZZZZZZ", "student_number": world.stu_a1.student_number})
    with CaptureQueriesContext(connection) as ctx:
        assert enter(client, sitting, world.stu_a1).status_code == 302
    sql = statements(ctx)
    # lookup, start, then the audit append (lock on PostgreSQL, chain end, insert)
    assert len(sql) <= 5, sql
    event = AuditEvent.objects.filter(action="screening.assignment.started").latest("seq")
    assignment = assignment_of(campaign, world.stu_a1)
    assert (event.object_type, event.object_id) == ("screening.assignment", str(assignment.pk))
    assert event.school_id == assignment.school_id
    assert event.fields == {"via": "sitting", "sitting": sitting.code, "identity": "number"}
    assert event.actor_role == "student"
    assert verify_chain()[0]


def test_wildcards_in_last_digits_match_nothing(world):
    campaign = make_open_campaign(world, student_login="last_digits_birth_date")
    sitting = screening.open_sitting(
        actor=world.psych, campaign=campaign, school_class=world.class_a1
    )
    for digits in ("____", "%%%%", "\\___"):
        response = Client().post(
            "/take/",
            {"code": sitting.code, "last_digits": digits, "birth_date": "2013-01-01"},
        )
        assert response.status_code == 400, digits
    assert assignment_of(campaign, world.stu_a1).status == AssignmentStatus.ASSIGNED


def test_number_given_where_the_campaign_wants_digits_asks_for_digits(world):
    campaign = make_open_campaign(world, student_login="last_digits_birth_date")
    sitting = screening.open_sitting(
        actor=world.psych, campaign=campaign, school_class=world.class_a1
    )
    response = enter(Client(), sitting, world.stu_a1)
    assert response.status_code == 200
    assert 'name="last_digits"' in response.content.decode()
    assert assignment_of(campaign, world.stu_a1).status == AssignmentStatus.ASSIGNED


def _normalised(html: str) -> str:
    html = re.sub(
        r'(csrfmiddlewaretoken" value="|csrf-token" content="|X-CSRFToken": ")[A-Za-z0-9]+',
        r"\1TOKEN",
        html,
    )
    return re.sub(r'name="client_key" value="[0-9a-f]+"', 'name="client_key" value="KEY"', html)


def test_questionnaire_page_from_the_shell_is_the_full_render(
    world, sitting, campaign, monkeypatch
):
    client = Client()
    enter(client, sitting, world.stu_a1)
    answers = full_answers(assignment_of(campaign, world.stu_a1), value=2)[:5]
    post_json(client, SAVE, {"answers": answers})
    views._pages.clear()
    first = client.get("/take/q/")  # renders the shell
    second = client.get("/take/q/")  # fills it in
    assert first.status_code == second.status_code == 200
    assert first.cookies.get("csrftoken") or client.cookies.get("csrftoken")

    def full(request, battery_key, context):
        return render(request, "screening/take/questionnaire.html", context).content.decode()

    monkeypatch.setattr(views, "_page", full)
    reference = _normalised(client.get("/take/q/").content.decode())
    assert _normalised(first.content.decode()) == reference
    assert _normalised(second.content.decode()) == reference
    html = second.content.decode()
    assert html.count(" checked>") == len(answers)
    assert "xqcsrfslot" not in html
    assert "slot7d1e" not in html


def test_record_events_chain_like_single_appends(world):
    before = AuditEvent.objects.count()
    record_event(actor=world.psych, action="test.thing.done", object_id=1)
    events = record_events(
        [
            {"actor": world.psych, "action": "test.thing.done", "object_id": n, "fields": {"n": n}}
            for n in (2, 3, 4)
        ]
    )
    record_event(actor=None, action="test.thing.done", object_id=5)
    assert AuditEvent.objects.count() == before + 5
    assert [e.seq for e in events] == [events[0].seq, events[0].seq + 1, events[0].seq + 2]
    assert all(e.pk for e in events)
    stored = AuditEvent.objects.get(pk=events[1].pk)
    assert (stored.hash, stored.prev_hash) == (events[1].hash, events[0].hash)
    assert stored.actor_username == world.psych.username
    assert stored.fields == {"n": 3}
    assert verify_chain()[0]


def _hand_in_flagged(client, assignment, key):
    """Answer every item with code 1 where it exists (PHQ-A item 9, ASQ 1-4, PHQ-A 12 and 13
    positive: several rules fire) and hand in."""
    answers = full_answers(assignment, value=1)
    assert post_json(client, SAVE, {"answers": answers}).status_code == 200
    top = max(a["n"] for a in answers)
    with CaptureQueriesContext(connection) as ctx:
        response = post_json(client, SUBMIT, {"client_key": key, "seq": top})
    assert response.status_code == 200
    return ctx


def _alert_events(after: int):
    return list(
        AuditEvent.objects.filter(seq__gt=after, action__startswith="alerts.alert.")
        .order_by("seq")
        .values_list("action", "fields")
    )


def _without_open_alert(student) -> int:
    """Close the student's open alert (the shared world has one for stu_a1); the chain's end."""
    Alert.objects.filter(student=student, status__in=OPEN_STATUSES).update(
        status=Status.VERIFIED, outcome=Outcome.DISMISSED
    )
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()


def test_hand_in_raising_an_alert_writes_every_trigger_event_and_one_notification(
    world, sitting, campaign
):
    after = _without_open_alert(world.stu_a1)
    client = Client()
    enter(client, sitting, world.stu_a1)
    ctx = _hand_in_flagged(client, assignment_of(campaign, world.stu_a1), "flag-key-0001")
    alert = Alert.objects.get(student=world.stu_a1, status__in=OPEN_STATUSES)
    triggers = list(alert.triggers.order_by("id"))
    assert len(triggers) >= 3
    assert [e["rule"] for e in alert.evidence] == [t.rule for t in triggers]
    events = _alert_events(after)
    assert [a for a, _f in events] == ["alerts.alert.raised"] + [
        "alerts.alert.trigger_attached"
    ] * (len(triggers) - 1)
    assert [f["rule"] for _a, f in events] == [t.rule for t in triggers]
    assert [f["trigger_level"] for _a, f in events] == [t.level for t in triggers]
    assert {f["level"] for _a, f in events} == {alert.level}
    assert not any(f["level_raised"] for _a, f in events)
    outbox = Notification.objects.get(alert=alert)
    assert outbox.kind == "alert.raised"
    assert all(t.response_id for t in triggers if t.evidence["instruments"])
    assert verify_chain()[0]
    # The hand-in's 4 statements, then a bounded number for the alert however many rules fired.
    assert len(statements(ctx)) <= 18, statements(ctx)


def test_in_production_a_flagged_hand_in_costs_one_statement_more_than_a_calm_one(
    world, sitting, campaign, settings, monkeypatch
):
    """With a worker (not the embedded default) the hand-in only queues itself for its alert:
    the 4 statements of every hand-in and one INSERT; the worker raises the same alert."""
    from xinqiao.alerts import services as alert_services
    from xinqiao.alerts.services import hand_ins

    settings.ALERTS_RAISE_INLINE = False
    kicked: list = []
    from xinqiao.notifications import services as notification_services

    for module in (hand_ins, notification_services):
        monkeypatch.setattr(module, "kick_soon", kicked.append)  # the broker: not here
    after = _without_open_alert(world.stu_a1)
    client = Client()
    enter(client, sitting, world.stu_a1)
    ctx = _hand_in_flagged(client, assignment_of(campaign, world.stu_a1), "flag-key-0003")
    sql = statements(ctx)
    assert len(sql) == 5, "\n".join(s[:300] for s in sql)
    assert "alerts_pendingsubmission" in sql[-1]
    assert not Alert.objects.filter(student=world.stu_a1, status__in=OPEN_STATUSES).exists()
    alert_services.raise_all_pending_alerts()  # the worker
    alert = Alert.objects.get(student=world.stu_a1, status__in=OPEN_STATUSES)
    triggers = len(alert.triggers.all())
    assert triggers >= 3
    assert [a for a, _f in _alert_events(after)] == ["alerts.alert.raised"] + [
        "alerts.alert.trigger_attached"
    ] * (triggers - 1)
    assert Notification.objects.get(alert=alert).kind == "alert.raised"


def test_flagged_hand_in_raises_the_open_alert_and_attaches_to_it(world, sitting, campaign):
    _without_open_alert(world.stu_a1)
    raise_alert(
        student=world.stu_a1,
        level="yellow",
        source=Source.HEAD_TEACHER,
        evidence={"note": "earlier"},
        rule="test.earlier",
    )
    alert = Alert.objects.get(student=world.stu_a1, status__in=OPEN_STATUSES)
    after = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    client = Client()
    enter(client, sitting, world.stu_a1)
    _hand_in_flagged(client, assignment_of(campaign, world.stu_a1), "flag-key-0002")
    assert Alert.objects.filter(student=world.stu_a1, status__in=OPEN_STATUSES).count() == 1
    alert.refresh_from_db()
    triggers = list(alert.triggers.order_by("id"))
    assert triggers[0].rule == "test.earlier"
    assert len(triggers) >= 4
    assert alert.level == triggers[1].level != "yellow"
    assert [e["rule"] for e in alert.evidence] == [t.rule for t in triggers]
    events = _alert_events(after)
    assert [a for a, _f in events] == ["alerts.alert.trigger_attached"] * (len(triggers) - 1)
    assert [f["level_raised"] for _a, f in events] == [True] + [False] * (len(triggers) - 2)
    assert {f["level"] for _a, f in events} == {alert.level}
    kinds = list(
        Notification.objects.filter(alert=alert).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["alert.raised", "alert.level_raised"]
    assert verify_chain()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_hot_statements_run_prepared_and_a_new_session_prepares_them_again(
    world, sitting, campaign
):
    client = Client()
    enter(client, sitting, world.stu_a1)
    answers = full_answers(assignment_of(campaign, world.stu_a1))
    with CaptureQueriesContext(connection) as ctx:
        assert post_json(client, SAVE, {"answers": answers[:3]}).status_code == 200
    assert [q.split("(")[0] for q in statements(ctx)] == [
        "EXECUTE xq_take_bound",
        "EXECUTE xq_take_upsert_3",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'xq_take_%%'")
        assert cursor.fetchone()[0] > 70
        cursor.execute("DEALLOCATE ALL")  # what a new database session looks like
    taking_services._prepared_sessions.clear()  # ... which this process sees as a new connection
    with CaptureQueriesContext(connection) as ctx:
        assert post_json(client, SAVE, {"answers": answers[3:5]}).status_code == 200
    assert statements(ctx)[0].startswith("PREPARE xq_take_bound AS SELECT")
    assert len(statements(ctx)) == 3
