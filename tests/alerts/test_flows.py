"""Deadlines, escalation, outbox, concerns and views."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from xinqiao.alerts.deadlines import deadlines_for
from xinqiao.alerts.models import Alert, Escalation
from xinqiao.alerts.services import (
    acknowledge_alert,
    file_concern,
    run_escalations,
    verify_alert,
)
from xinqiao.alerts.signals import alert_confirmed
from xinqiao.notifications.models import InboxMessage, Notification
from xinqiao.notifications.services import dispatch_outbox

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_orange_verify_by_counts_school_days_skipping_the_weekend(world):
    friday = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=SH)
    d = deadlines_for("orange", friday)
    assert d.verify_by == datetime.datetime(2026, 12, 2, 23, 59, 59, tzinfo=SH)  # Mon, Tue, Wed
    red = deadlines_for("red", datetime.datetime(2026, 11, 28, 10, 0, tzinfo=SH))  # Saturday
    assert red.verify_by == datetime.datetime(2026, 11, 30, 23, 59, 59, tzinfo=SH)
    assert red.acknowledge_by == datetime.datetime(2026, 11, 28, 11, 0, tzinfo=SH)


def test_red_escalates_at_2h_and_24h_exactly_once(world):
    start = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=SH)
    with time_machine.travel(start, tick=False):
        concern = file_concern(
            actor=world.psych,
            student=world.stu_a2,
            what_seen="说有计划",
            seen_on=start.date(),
            urgency="plan",
        )
    alert = concern.alert
    assert alert.level == "red"
    assert run_escalations(now=start + datetime.timedelta(hours=1, minutes=59)) == 0
    assert run_escalations(now=start + datetime.timedelta(hours=2)) == 1
    assert run_escalations(now=start + datetime.timedelta(hours=2, minutes=1)) == 0
    leader = Notification.objects.filter(alert=alert, kind="alert.escalated.red_leader")
    assert [o.recipient for o in leader] == [world.school_admin]
    # +24 h: the station, and (the guardian not informed that school day) the leader again
    assert run_escalations(now=start + datetime.timedelta(hours=24)) == 2
    assert run_escalations(now=start + datetime.timedelta(hours=30)) == 0
    assert sorted(Escalation.objects.filter(alert=alert).values_list("step", flat=True)) == [
        "red_guardian",
        "red_leader",
        "red_station",
    ]
    station = Notification.objects.get(alert=alert, kind="alert.escalated.red_station")
    assert station.recipient == world.station_counsellor


def test_outbox_delivered_at_least_once_shown_once(world, client_for):
    assert dispatch_outbox() >= 1
    Notification.objects.update(
        dispatched_at=None
    )  # a worker died after delivering, before marking
    dispatch_outbox()
    assert InboxMessage.objects.filter(recipient=world.psych).count() == 1
    client = client_for(world.psych)
    assert "fw-bold" in client.get("/alerts/inbox/").content.decode()
    assert "fw-bold" not in client.get("/alerts/inbox/").content.decode()


def test_verify_confirmed_sends_alert_confirmed(world, django_capture_on_commit_callbacks):
    got = []
    alert_confirmed.connect(
        lambda sender, **kw: got.append(kw["level"]), weak=False, dispatch_uid="t"
    )
    try:
        acknowledge_alert(world.alert_a1, actor=world.psych)
        with django_capture_on_commit_callbacks(execute=True):
            verify_alert(
                world.alert_a1,
                actor=world.psych,
                outcome="changed",
                new_level="red",
                reason="访谈确认",
            )
    finally:
        alert_confirmed.disconnect(dispatch_uid="t")
    assert got == ["red"]
    assert Alert.objects.get(pk=world.alert_a1.pk).status == "verified"


def test_committee_member_sees_own_report_status_only(world, client_for):
    client = client_for(world.committee)
    page = client.get("/alerts/concerns/mine/").content.decode()
    assert "Received" in page
    assert "Orange" not in page
    assert "orange" not in page
    acknowledge_alert(world.alert_a1, actor=world.psych)
    assert "Being followed up" in client.get("/alerts/concerns/mine/").content.decode()
    assert client.get(f"/alerts/{world.alert_a1.code}/").status_code == 403


def test_concern_form_files_a_report(world, client_for):
    client = client_for(world.parent)
    r = client.post(
        "/alerts/concerns/new/",
        {
            "student": world.stu_a1.code,
            "what_seen": "在家哭",
            "seen_on": "2026-11-01",
            "urgency": "watch",
        },
    )
    assert r.status_code == 302
    assert world.alert_a1.concerns.count() == 2


@pytest.mark.parametrize("url", ["/alerts/{c}/", "/alerts/{c}/verify/"])
def test_other_school_gets_404(world, client_for, url):
    assert client_for(world.psych_b).get(url.format(c=world.alert_a1.code)).status_code == 404


def test_wrong_role_gets_403(world, client_for):
    assert client_for(world.head_teacher).get("/alerts/").status_code == 403
    assert (
        client_for(world.school_admin).get(f"/alerts/{world.alert_a1.code}/verify/").status_code
        == 403
    )
    assert client_for(world.psych).get("/alerts/rules/").status_code == 403


def test_evidence_read_is_audited_and_hidden_from_leader(world, client_for):
    from xinqiao.audit.models import AuditEvent

    page = client_for(world.psych).get(f"/alerts/{world.alert_a1.code}/").content.decode()
    assert "常说活着没意思" in page
    assert AuditEvent.objects.filter(action="alerts.alert.evidence_viewed").count() == 1
    leader = client_for(world.school_admin).get(f"/alerts/{world.alert_a1.code}/")
    assert "常说活着没意思" not in leader.content.decode()


def test_city_admin_saves_a_validated_ruleset(world, client_for):
    from xinqiao.alerts.rules import default_source

    client = client_for(world.city_admin)
    bad = client.post(
        "/alerts/rules/new/",
        {"unit": world.city.pk, "stage": "", "note": "x", "source": "version: 1\nrules: []\n"},
    )
    assert bad.status_code == 200
    ok = client.post(
        "/alerts/rules/new/",
        {"unit": world.city.pk, "stage": "junior", "note": "x", "source": default_source()},
    )
    assert ok.status_code == 302
    from xinqiao.alerts.rules import ruleset_for

    assert ruleset_for(school_id=world.school_a.pk, stage="junior").label.endswith("junior@1")
