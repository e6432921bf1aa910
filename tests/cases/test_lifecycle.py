"""The case lifecycle: open / attach / raise / reopen on a verified alert (through the real
verification path), step down with the minimum stays, approval by the moral-education leader."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import respond
from xinqiao.access.roles import Role
from xinqiao.access.services import create_staff
from xinqiao.alerts.services import file_concern, verify_alert
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import (
    Case,
    FollowUp,
    LevelChange,
    StepDownRequest,
)
from xinqiao.cases.selectors.lifecycle import step_down_check
from xinqiao.cases.services.lifecycle import (
    StepDownRefused,
    decide_step_down,
    request_step_down,
)
from xinqiao.core.errors import DomainError
from xinqiao.notifications.models import Notification
from xinqiao.screening import services as screening_services
from xinqiao.screening.models import Assignment

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


# --- helpers ----------------------------------------------------------------------------------


def confirm(world, student, urgency="soon", *, outcome="confirmed", new_level=""):
    """A concern raises (or joins) an alert; the psychology teacher verifies it (the real path)."""
    concern = file_concern(
        actor=world.psych,
        student=student,
        what_seen="最近情绪很低落",
        seen_on=timezone.localdate(),
        urgency=urgency,
    )
    verify_alert(
        concern.alert,
        actor=world.psych,
        outcome=outcome,
        new_level=new_level,
        reason="访谈核实：情况属实",
    )
    concern.alert.refresh_from_db()
    return concern.alert


def actions(obj=None):
    qs = AuditEvent.objects.order_by("seq")
    if obj is not None:
        qs = qs.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return [e.action for e in qs]


def later(days, *, hours=0):
    return time_machine.travel(
        timezone.now() + days * DAY + datetime.timedelta(hours=hours), tick=False
    )


def follow_up(case, trend="improving", *, user, n=0):
    now = timezone.now()
    return FollowUp.objects.create(
        case=case,
        done_at=now,
        method="interview",
        trend=trend,
        level_at_time=case.level,
        note="随访记录",
        recorded_by=user,
        client_key=f"fu-{case.pk}-{now.timestamp()}-{n}",
        created_at=now,
    )


def phq_a(item9=0, rest_total=0):
    rest = [0] * 9
    n = rest_total
    for i in range(9):
        rest[i] = min(3, n)
        n -= rest[i]
    answers = [*rest[:8], item9, rest[8]]
    answers.append(0 if any(answers) else None)
    return [*answers, 0, 0]


def campaign(world, kind):
    now = timezone.now()
    c = screening_services.create_campaign(
        actor=world.psych,
        name=f"复筛 {kind} {now:%Y%m%d%H%M%S}",
        term=world.term,
        kind=kind,
        owner_unit=world.school_a,
        units=[world.school_a],
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + 7 * DAY,
    )
    screening_services.open_campaign(actor=world.psych, campaign=c)
    return c


def screen(world, student, kind, answers):
    """A screening of `kind` (a new campaign) in which `student` hands in a PHQ-A now."""
    c = campaign(world, kind)
    a = Assignment.objects.get(campaign=c, student=student)
    return respond(a, "PHQ-A", answers)


def make_red(world, case):
    """Raise world.case_a2 to red through a verified red concern."""
    confirm(world, case.student, "plan")
    case.refresh_from_db()
    assert case.level == "red"
    return case


def make_yellow(world):
    """A fresh yellow case for stu_a1 (its open orange alert verified as yellow)."""
    verify_alert(
        world.alert_a1, actor=world.psych, outcome="changed", new_level="yellow", reason="核实为黄"
    )
    return Case.objects.get(student=world.stu_a1, status="open")


# --- open / attach / raise / reopen -----------------------------------------------------------


def test_confirmed_alert_opens_a_case(world):
    alert = world.alert_a1
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        verify_alert(alert, actor=world.psych, outcome="confirmed", reason="访谈核实")
    case = Case.objects.get(student=world.stu_a1)
    assert (case.status, case.level, case.school, case.owner) == (
        "open",
        "orange",
        world.school_a,
        world.psych,
    )
    assert case.opened_by == world.psych
    assert case.level_since == now
    assert case.next_follow_up_due == now + 7 * DAY  # orange: weekly
    [change] = case.level_changes.all()
    assert (change.kind, change.to_level, change.alert, change.changed_by) == (
        "opened",
        "orange",
        alert,
        world.psych,
    )
    assert change.reason == "访谈核实"
    assert "cases.case.opened" in actions(case)
    notes = Notification.objects.filter(kind="case.opened")
    assert sorted(o.recipient.username for o in notes) == ["psych_a", "school_admin_a"]
    for o in notes:
        assert world.stu_a1.name not in o.subject  # no name, no clinical detail
        assert "orange" not in o.subject.lower()
        assert o.url == f"/cases/{case.code}/"


def test_dismissed_alert_opens_no_case(world):
    verify_alert(world.alert_a1, actor=world.psych, outcome="dismissed", reason="误报")
    assert not Case.objects.filter(student=world.stu_a1).exists()


def test_case_opens_in_the_verification_transaction(world, monkeypatch):
    """A failure while opening the case rolls the verification back too."""
    from xinqiao.cases.services import lifecycle

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(lifecycle, "reschedule_follow_up", boom)
    with pytest.raises(RuntimeError):
        verify_alert(world.alert_a1, actor=world.psych, outcome="confirmed", reason="核实")
    world.alert_a1.refresh_from_db()
    assert world.alert_a1.status == "new"
    assert not Case.objects.filter(student=world.stu_a1).exists()


def test_new_red_red_case_schedules_daily_follow_up(world):
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        confirm(world, world.stu_a1, "plan")
    case = Case.objects.get(student=world.stu_a1)
    assert case.level == "red"
    assert case.next_follow_up_due == now + DAY


def test_verified_alert_at_same_level_attaches_to_the_open_case(world):
    case = world.case_a2
    due = case.next_follow_up_due
    alert = confirm(world, world.stu_a2, "soon")
    assert Case.objects.filter(student=world.stu_a2).count() == 1
    case.refresh_from_db()
    assert case.level == "orange"
    assert case.next_follow_up_due == due  # attaching does not move the schedule
    last = case.level_changes.last()
    assert (last.kind, last.from_level, last.to_level, last.alert) == (
        "attached",
        "orange",
        "orange",
        alert,
    )
    assert actions(case)[-1] == "cases.case.attached"


def test_lower_verified_level_attaches_without_lowering(world):
    case = world.case_a2
    confirm(world, world.stu_a2, "watch")  # yellow
    case.refresh_from_db()
    assert case.level == "orange"
    assert case.level_changes.last().kind == "attached"


def test_higher_verified_level_raises_the_case(world):
    case = world.case_a2
    now = timezone.now() + 3 * DAY
    with time_machine.travel(now, tick=False):
        alert = confirm(world, world.stu_a2, "plan")
    case.refresh_from_db()
    assert (case.level, case.level_since) == ("red", now)
    assert case.next_follow_up_due == now + DAY  # red, referral not done: daily
    last = case.level_changes.last()
    assert (last.kind, last.from_level, last.to_level, last.alert) == (
        "raised",
        "orange",
        "red",
        alert,
    )
    event = AuditEvent.objects.filter(action="cases.case.raised").get()
    assert event.fields["level"] == ["orange", "red"]
    raised = Notification.objects.filter(kind="case.raised")
    assert sorted(o.recipient.username for o in raised) == ["psych_a", "school_admin_a"]


def test_raise_withdraws_a_pending_step_down(world):
    case = world.case_a2
    with later(28):
        follow_up(case, user=world.psych, n=1)
        follow_up(case, user=world.psych, n=2)
        respond(
            Assignment.objects.get(campaign=world.campaign, student=world.stu_a2),
            "PHQ-A",
            phq_a(),
        )
        request = request_step_down(case, actor=world.psych, reason="好转")
        confirm(world, world.stu_a2, "plan")
    request.refresh_from_db()
    assert request.status == "rejected"
    assert request.decided_by is None
    with pytest.raises(DomainError, match="already been decided"):
        decide_step_down(request, actor=world.school_admin, approve=True)


def test_verified_alert_reopens_the_closed_case(world):
    case = world.case_a2
    case.status, case.closed_at, case.closed_by = "closed", timezone.now(), world.school_admin
    case.next_follow_up_due = None
    case.save()
    now = timezone.now() + 30 * DAY
    with time_machine.travel(now, tick=False):
        alert = confirm(world, world.stu_a2, "watch")
    case.refresh_from_db()
    assert Case.objects.filter(student=world.stu_a2).count() == 1
    assert (case.status, case.level, case.level_since, case.closed_at) == (
        "open",
        "yellow",
        now,
        None,
    )
    assert case.next_follow_up_due == now + 30 * DAY  # yellow: monthly
    last = case.level_changes.last()
    assert (last.kind, last.to_level, last.alert) == ("reopened", "yellow", alert)
    assert actions(case)[-1] == "cases.case.reopened"


def test_new_alert_of_a_student_with_an_open_case_goes_to_the_case_owner(world):
    second = create_staff(
        actor=None,
        username="psych_a2",
        name="甲校心理老师二",
        org_unit=world.school_a,
        password="x-Passw0rd!-x",
        roles=[(Role.PSYCHOLOGY_TEACHER, world.school_a)],
    ).user
    world.case_a2.owner = second
    world.case_a2.save()
    concern = file_concern(
        actor=world.school_admin,
        student=world.stu_a2,
        what_seen="上课哭泣",
        seen_on=timezone.localdate(),
        urgency="soon",
    )
    assert concern.alert.owner == second
    # Without an open case the school's teacher on duty (the first) owns it.
    assert world.alert_a1.owner == world.psych


def test_case_owner_who_left_does_not_own_new_alerts(world):
    from xinqiao.access.models import RoleAssignment

    second = create_staff(
        actor=None,
        username="psych_a2",
        name="甲校心理老师二",
        org_unit=world.school_a,
        password="x-Passw0rd!-x",
        roles=[(Role.PSYCHOLOGY_TEACHER, world.school_a)],
    ).user
    world.case_a2.owner = second
    world.case_a2.save()
    second.is_active = False
    second.save()
    assert RoleAssignment.objects.filter(user=second).exists()
    concern = file_concern(
        actor=world.school_admin,
        student=world.stu_a2,
        what_seen="上课哭泣",
        seen_on=timezone.localdate(),
        urgency="soon",
    )
    assert concern.alert.owner == world.psych


# --- step down: red → orange ------------------------------------------------------------------


def test_red_step_down_needs_14_days_and_a_hospital_opinion(world):
    case = make_red(world, world.case_a2)
    with pytest.raises(StepDownRefused) as refused:
        request_step_down(case, actor=world.psych, reason="稳定")
    assert len(refused.value.reasons) == 2
    assert "at least 14 are needed" in refused.value.reasons[0]
    assert "No psychiatrist's or hospital's opinion" in refused.value.reasons[1]
    with later(14):
        with pytest.raises(StepDownRefused) as refused:
            request_step_down(case, actor=world.psych, reason="稳定")
        assert refused.value.reasons == [
            "No psychiatrist's or hospital's opinion since the case turned red: a referral "
            "needs its feedback first."
        ]


def test_hospital_opinion_before_the_case_turned_red_does_not_count(world):
    referral = world.referral_a2
    referral.status, referral.feedback_at = "feedback", timezone.now()
    referral.save()
    with later(1):
        case = make_red(world, world.case_a2)
    with later(16):
        check = step_down_check(case)
    assert [r.key for r in check.rules if not r.met] == ["hospital_opinion"]


def test_red_steps_down_after_14_days_with_feedback(world):
    case = make_red(world, world.case_a2)
    with later(10):
        referral = world.referral_a2
        referral.status, referral.feedback_at = "feedback", timezone.now()
        referral.feedback_by = world.psychiatrist
        referral.save()
    with later(14, hours=1):
        request = request_step_down(case, actor=world.psych, reason="医院意见：可降级")
        assert (request.from_level, request.to_level, request.status) == (
            "red",
            "orange",
            "pending",
        )
        assert request.evidence["hospital_opinion"]["referral"] == str(referral.code)
        leader_note = Notification.objects.get(kind="case.step_down_requested")
        assert leader_note.recipient == world.school_admin
        approved_at = timezone.now()
        decide_step_down(request, actor=world.school_admin, approve=True, note="同意")
    case.refresh_from_db()
    assert (case.level, case.level_since, case.status) == ("orange", approved_at, "open")
    assert case.next_follow_up_due == approved_at + 7 * DAY
    last = case.level_changes.last()
    assert (last.kind, last.from_level, last.to_level) == ("stepped_down", "red", "orange")
    assert (last.changed_by, last.approved_by) == (world.psych, world.school_admin)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", world.school_admin)
    assert actions(case)[-1] == "cases.case.stepped_down"
    assert "cases.step_down.requested" in actions(request)
    decided = Notification.objects.get(kind="case.stepped_down")
    assert decided.recipient == world.psych


# --- step down: orange → yellow ---------------------------------------------------------------


def test_orange_step_down_lists_every_unmet_rule(world):
    case = world.case_a2
    with pytest.raises(StepDownRefused) as refused:
        request_step_down(case, actor=world.psych, reason="好转")
    assert refused.value.reasons == [
        refused.value.reasons[0],
        "0 follow-ups marked improving since the case turned orange; 2 are needed.",
        "No re-screen since the case turned orange.",
    ]
    assert "at least 28 are needed" in refused.value.reasons[0]
    assert not StepDownRequest.objects.exists()


def test_orange_needs_two_improving_follow_ups_and_a_rescreen_below_orange(world):
    case = world.case_a2
    with later(28):
        follow_up(case, user=world.psych, n=1)
        follow_up(case, "stable", user=world.psych, n=2)
        with pytest.raises(StepDownRefused) as refused:
            request_step_down(case, actor=world.psych, reason="好转")
        assert refused.value.reasons == [
            "1 follow-ups marked improving since the case turned orange; 2 are needed.",
            "No re-screen since the case turned orange.",
        ]
        follow_up(case, user=world.psych, n=3)
        screen(world, world.stu_a2, "exam_season", phq_a(item9=1))  # PHQ-A item 9 ≥ 1: orange
        with pytest.raises(StepDownRefused) as refused:
            request_step_down(case, actor=world.psych, reason="好转")
        assert refused.value.reasons == [
            "The newest re-screen is still at or above the orange thresholds."
        ]
    with later(29):
        screen(world, world.stu_a2, "term_start", phq_a(rest_total=12))  # yellow only
        request = request_step_down(case, actor=world.psych, reason="好转")
        assert (request.from_level, request.to_level) == ("orange", "yellow")
        decide_step_down(request, actor=world.school_admin, approve=True)
    case.refresh_from_db()
    assert case.level == "yellow"


def test_follow_ups_before_the_case_turned_orange_do_not_count(world):
    case = world.case_a2
    follow_up(case, user=world.psych, n=1)
    follow_up(case, user=world.psych, n=2)
    with later(1):
        confirm(world, world.stu_a2, "plan")  # red
    case.refresh_from_db()
    case.level = "orange"  # as if stepped down right away (level_since = the raise)
    case.save()
    with later(30):
        check = step_down_check(case)
    improving = next(r for r in check.rules if r.key == "improving_follow_ups")
    assert improving.met is False


def test_approval_checks_the_rules_again(world):
    case = world.case_a2
    with later(28):
        follow_up(case, user=world.psych, n=1)
        follow_up(case, user=world.psych, n=2)
        screen(world, world.stu_a2, "exam_season", phq_a())
        request = request_step_down(case, actor=world.psych, reason="好转")
    with later(30):
        # A newer screening since the request is above the orange thresholds.
        screen(world, world.stu_a2, "term_start", phq_a(item9=2))
        with pytest.raises(StepDownRefused) as refused:
            decide_step_down(request, actor=world.school_admin, approve=True)
        assert refused.value.reasons == [
            "The newest re-screen is still at or above the orange thresholds."
        ]
    request.refresh_from_db()
    case.refresh_from_db()
    assert (request.status, case.level) == ("pending", "orange")


# --- step down: yellow → closed ---------------------------------------------------------------


def test_yellow_closes_after_56_days(world):
    case = make_yellow(world)
    with later(55):
        with pytest.raises(StepDownRefused) as refused:
            request_step_down(case, actor=world.psych, reason="稳定")
        assert len(refused.value.reasons) == 2
        assert refused.value.reasons[1] == "No semester screening since the case turned yellow."
    with later(56, hours=1):
        request = request_step_down(case, actor=world.psych, reason="稳定")
        assert request.to_level == ""
        closed_at = timezone.now()
        decide_step_down(request, actor=world.school_admin, approve=True)
    case.refresh_from_db()
    assert (case.status, case.closed_at, case.closed_by) == (
        "closed",
        closed_at,
        world.school_admin,
    )
    assert case.next_follow_up_due is None
    assert case.level == "yellow"  # the last level is kept for the archive
    last = case.level_changes.last()
    assert (last.kind, last.from_level, last.to_level, last.approved_by) == (
        "closed",
        "yellow",
        "",
        world.school_admin,
    )
    assert actions(case)[-1] == "cases.case.closed"
    assert Notification.objects.get(kind="case.closed").recipient == world.psych


def test_yellow_closes_early_after_a_semester_screening_below_yellow(world):
    case = make_yellow(world)
    with later(20):
        screen(world, world.stu_a1, "exam_season", phq_a())  # not a semester screening
        with pytest.raises(StepDownRefused):
            request_step_down(case, actor=world.psych, reason="普查正常")
        screen(world, world.stu_a1, "routine_spring", phq_a(rest_total=12))  # still yellow
        with pytest.raises(StepDownRefused) as refused:
            request_step_down(case, actor=world.psych, reason="普查正常")
        assert refused.value.reasons[1] == (
            "The newest semester screening is still at or above the yellow thresholds."
        )
    with later(21):
        screen(world, world.stu_a1, "routine_autumn", phq_a(rest_total=3))
        request = request_step_down(case, actor=world.psych, reason="普查正常")
    assert request.to_level == ""


def test_invalid_rescreen_proves_nothing(world):
    case = make_yellow(world)
    with later(20):
        c = campaign(world, "routine_spring")
        a = Assignment.objects.get(campaign=c, student=world.stu_a1)
        r = respond(a, "PHQ-A", phq_a(rest_total=12))
        r.valid = False
        r.save()
        check = step_down_check(case)
    assert check.ok is False


# --- who may ask and decide -------------------------------------------------------------------


def _ready_red(world):
    case = make_red(world, world.case_a2)
    referral = world.referral_a2
    with later(1):
        referral.status, referral.feedback_at = "feedback", timezone.now()
        referral.save()
    return case


def test_only_the_psychology_teacher_asks(world):
    case = _ready_red(world)
    with later(15):
        for user in (world.school_admin, world.station_counsellor, world.psych_b):
            with pytest.raises(DomainError, match="Only the school's psychology teacher"):
                request_step_down(case, actor=user, reason="x")
        with pytest.raises(DomainError, match="State why"):
            request_step_down(case, actor=world.psych, reason="  ")


def test_one_pending_request_and_a_repeat_returns_it(world):
    case = _ready_red(world)
    with later(15):
        first = request_step_down(case, actor=world.psych, reason="稳定")
        again = request_step_down(case, actor=world.psych, reason="稳定")
    assert again.pk == first.pk
    assert StepDownRequest.objects.count() == 1
    assert actions().count("cases.step_down.requested") == 1


def test_only_the_leader_of_the_school_decides(world):
    case = _ready_red(world)
    leader_b = create_staff(
        actor=None,
        username="school_admin_b",
        name="乙校德育主任",
        org_unit=world.school_b,
        password="x-Passw0rd!-x",
        roles=[(Role.SCHOOL_ADMIN, world.school_b)],
    ).user
    with later(15):
        request = request_step_down(case, actor=world.psych, reason="稳定")
        for user in (world.psych, leader_b, world.station_counsellor, world.head_teacher):
            with pytest.raises(DomainError, match="moral-education leader"):
                decide_step_down(request, actor=user, approve=True)
    request.refresh_from_db()
    assert request.status == "pending"


def test_leader_rejects_with_a_note(world):
    case = _ready_red(world)
    with later(15):
        request = request_step_down(case, actor=world.psych, reason="稳定")
        with pytest.raises(DomainError, match="Say why"):
            decide_step_down(request, actor=world.school_admin, approve=False)
        decide_step_down(request, actor=world.school_admin, approve=False, note="再观察两周")
    request.refresh_from_db()
    case.refresh_from_db()
    assert (request.status, request.decision_note, case.level) == ("rejected", "再观察两周", "red")
    assert actions(request)[-1] == "cases.step_down.rejected"
    assert Notification.objects.get(kind="case.step_down_rejected").recipient == world.psych
    # A new request may follow a rejected one.
    with later(16):
        assert request_step_down(case, actor=world.psych, reason="稳定").status == "pending"


def test_every_level_change_is_kept(world):
    case = _ready_red(world)
    with later(15):
        r = request_step_down(case, actor=world.psych, reason="稳定")
        decide_step_down(r, actor=world.school_admin, approve=True)
    kinds = list(LevelChange.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["opened", "raised", "stepped_down"]
