"""Care of an open case: team, support plan, follow-ups, guardian contacts (services and selectors).

Personas: world.psych handles school A's cases; world.school_admin (moral-education leader) sees
them but does not handle them; world.psych_b (school B) must see nothing; head teachers, mentors
and committee members only ever see their own task.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.access.services import assign_role
from xinqiao.alerts.models import Alert, AlertTrigger
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import (
    Case,
    CaseTeamMember,
    FollowUp,
    GuardianContact,
    LevelChange,
    SupportPlan,
)
from xinqiao.cases.selectors import care as selectors
from xinqiao.cases.services import care as services
from xinqiao.core.errors import DomainError
from xinqiao.notifications.models import Notification
from xinqiao.people.models import GuardianRelation
from xinqiao.people.services import add_guardian, create_student

from ..conftest import PASSWORD, _user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf(name: str = "回执.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# --- fixtures (shared with test_care_views.py by import) --------------------------------------


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def case_a1(world):
    """An open orange case for stu_a1 (class A1, has a guardian and the open alert alert_a1)."""
    now = timezone.now()
    case = Case.objects.create(
        student=world.stu_a1,
        school=world.school_a,
        level="orange",
        level_since=now,
        owner=world.psych,
        opened_at=now,
        opened_by=world.psych,
        next_follow_up_due=now + datetime.timedelta(days=7),
    )
    LevelChange.objects.create(
        case=case,
        kind="opened",
        to_level="orange",
        alert=world.alert_a1,
        changed_by=world.psych,
        at=now,
    )
    return case


@pytest.fixture
def red_case_a1(case_a1):
    Case.objects.filter(pk=case_a1.pk).update(level="red")
    Alert.objects.filter(pk=case_a1.level_changes.get().alert_id).update(level="red")
    case_a1.refresh_from_db()
    return case_a1


@pytest.fixture
def committee_a1b(world):
    """A second committee member of class A1 (a classmate with a student account)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("committee_a1b", password=PASSWORD)
    create_student(
        actor=None,
        student_number="G360102201304040018",
        name="陈小委",
        gender="F",
        birth_date=datetime.date(2013, 4, 4),
        school_class=world.class_a1,
        term=world.term,
        user=user,
    )
    assign_role(actor=None, user=user, role=Role.COMMITTEE_MEMBER, org_unit=world.class_a1)
    return user


@pytest.fixture
def psych2(world):
    """A second psychology teacher of school A (not the cases' owner)."""
    return _user("psych_a2", "甲校心理老师二", world.school_a, Role.PSYCHOLOGY_TEACHER)


def follow_up(case, actor, key="k1", **kw):
    data = {
        "client_key": key,
        "done_at": timezone.now(),
        "method": "interview",
        "trend": "stable",
        "risk_signs": False,
        "note": "谈话记录：情绪平稳",
    }
    data.update(kw)
    return services.record_follow_up(case, actor=actor, **data)


def contact(case, actor, key="c1", **kw):
    data = {
        "client_key": key,
        "guardian": case.student.guardians.first(),
        "method": "phone",
        "contacted_at": timezone.now(),
        "what_was_said": "告知孩子近况，建议就医",
        "guardian_response": "同意配合",
        "consent": "given",
        "informed_of_level": "",
    }
    data.update(kw)
    return services.record_guardian_contact(case, actor=actor, **data)


def actions(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- team -------------------------------------------------------------------------------------


def test_add_head_teacher_gets_level_2_standard_task_and_a_notice_without_level(world, case_a1):
    member = services.add_team_member(
        case_a1, actor=world.psych, user=world.head_teacher, role=Role.HEAD_TEACHER
    )
    assert (member.tier, member.role) == (2, Role.HEAD_TEACHER)
    assert member.task == selectors.DEFAULT_TASKS[Role.HEAD_TEACHER]
    notice = Notification.objects.get(recipient=world.head_teacher, kind="case.team.added")
    assert notice.subject == "A student needs your attention"
    assert notice.url == "/cases/my-tasks/"  # cannot open the case page
    assert "orange" not in (notice.subject + notice.body).lower()
    [event] = actions("cases.team_member.added")
    assert event.fields == {
        "case": str(case_a1.code),
        "user": "head_teacher_a1",
        "role": "head_teacher",
        "tier": 2,
    }
    assert event.school_id == world.school_a.pk


def test_leader_added_is_linked_to_the_case_page(world, case_a1):
    services.add_team_member(
        case_a1, actor=world.psych, user=world.school_admin, role=Role.SCHOOL_ADMIN
    )
    notice = Notification.objects.get(recipient=world.school_admin, kind="case.team.added")
    assert notice.url == f"/cases/{case_a1.code}/"


def test_tier_3_task_is_fixed_whatever_is_typed(world, case_a1, committee_a1b):
    member = services.add_team_member(
        case_a1,
        actor=world.psych,
        user=committee_a1b,
        role=Role.COMMITTEE_MEMBER,
        task="每天看他的手机",
    )
    assert member.tier == 3
    assert member.task == selectors.TIER3_TASK
    assert selectors.task_text(member.task) == (
        "Keep an eye on your classmate and tell the psychology teacher about any change"
    )


def test_typed_task_is_kept_for_level_2(world, case_a1):
    member = services.add_team_member(
        case_a1,
        actor=world.psych,
        user=world.mentor,
        role=Role.MENTOR,
        task="  数学课上多留意，  有变化告诉心理老师 ",
    )
    assert member.task == "数学课上多留意， 有变化告诉心理老师"


@pytest.mark.parametrize(
    ("who", "role"),
    [
        ("head_teacher", Role.HEAD_TEACHER),  # head teacher of class A1, case is in class A2
        ("psych_b", Role.PSYCHOLOGY_TEACHER),  # another school
        ("head_teacher_b", Role.HEAD_TEACHER),
        ("mentor", Role.HEAD_TEACHER),  # does not hold that role
        ("committee", Role.COMMITTEE_MEMBER),  # committee of class A1, not A2
    ],
)
def test_member_must_hold_the_role_at_the_students_school_or_class(world, who, role):
    with pytest.raises(DomainError) as exc:
        services.add_team_member(
            world.case_a2, actor=world.psych, user=getattr(world, who), role=role
        )
    assert exc.value.field == "member"
    assert CaseTeamMember.objects.count() == 0


def test_the_student_is_never_on_their_own_team(world, case_a1):
    # world.committee is stu_a1's own account (and a committee member of class A1).
    with pytest.raises(DomainError):
        services.add_team_member(
            case_a1, actor=world.psych, user=world.committee, role=Role.COMMITTEE_MEMBER
        )
    assert world.committee.pk not in {c.user.pk for c in selectors.team_candidates(case_a1)}


def test_a_member_is_on_the_team_once(world, case_a1):
    services.add_team_member(
        case_a1, actor=world.psych, user=world.head_teacher, role=Role.HEAD_TEACHER
    )
    with pytest.raises(DomainError, match="already on the team"):
        services.add_team_member(
            case_a1, actor=world.psych, user=world.head_teacher, role=Role.HEAD_TEACHER
        )


@pytest.mark.parametrize("who", ["school_admin", "psych_b", "head_teacher", "station_counsellor"])
def test_only_the_schools_psychology_teacher_changes_the_team(world, case_a1, who):
    with pytest.raises(PermissionDenied):
        services.add_team_member(
            case_a1,
            actor=getattr(world, who),
            user=world.head_teacher,
            role=Role.HEAD_TEACHER,
        )


def test_add_usual_team_adds_leaders_owner_and_head_teacher_never_a_child(
    world, case_a1, committee_a1b, psych2
):
    added = services.add_usual_team(case_a1, actor=world.psych)
    got = sorted((m.user.username, m.tier) for m in added)
    assert got == [
        ("head_teacher_a1", 2),
        ("psych_a", 1),
        ("school_admin_a", 1),
    ]
    assert len(actions("cases.team_member.added")) == 3
    # psych2 is not the owner; the mentor and committee members (children, who must not learn
    # who has a case) are chosen one by one; the student is never added.
    assert services.add_usual_team(case_a1, actor=world.psych) == []
    recipients = set(
        Notification.objects.filter(kind="case.team.added").values_list(
            "recipient__username", flat=True
        )
    )
    assert recipients == {"head_teacher_a1", "school_admin_a"}  # not the actor


def test_remove_member_keeps_the_row_and_allows_adding_again(world, case_a1):
    member = services.add_team_member(
        case_a1, actor=world.psych, user=world.head_teacher, role=Role.HEAD_TEACHER
    )
    services.remove_team_member(member, actor=world.psych)
    member.refresh_from_db()
    assert member.removed_at is not None
    with pytest.raises(DomainError):
        services.remove_team_member(member, actor=world.psych)
    services.add_team_member(
        case_a1, actor=world.psych, user=world.head_teacher, role=Role.HEAD_TEACHER
    )
    assert CaseTeamMember.objects.filter(case=case_a1, user=world.head_teacher).count() == 2
    assert [e.fields["role"] for e in actions("cases.team_member.removed")] == ["head_teacher"]


def test_closed_case_refuses_changes(world):
    Case.objects.filter(pk=world.case_a2.pk).update(status="closed", closed_at=timezone.now())
    with pytest.raises(DomainError, match="closed"):
        services.add_usual_team(world.case_a2, actor=world.psych)
    with pytest.raises(DomainError, match="closed"):
        follow_up(world.case_a2, world.psych)


# --- my tasks ---------------------------------------------------------------------------------


def test_a_committee_member_added_by_hand_is_told_nothing(world, case_a1, committee_a1b):
    member = services.add_team_member(
        case_a1, actor=world.psych, user=committee_a1b, role=Role.COMMITTEE_MEMBER
    )

    assert member.tier == 3
    assert not Notification.objects.filter(recipient=committee_a1b).exists()


def test_my_tasks_show_task_and_student_but_no_level(world, case_a1, committee_a1b):
    services.add_usual_team(case_a1, actor=world.psych)
    services.add_team_member(
        case_a1, actor=world.psych, user=committee_a1b, role=Role.COMMITTEE_MEMBER
    )
    [task] = selectors.my_tasks(world.head_teacher)
    assert (task.student_name, task.class_name, task.tier) == ("王小明", "七(1)班", 2)
    assert (
        task.task == "Watch the student in class, stay in touch with the family and report changes"
    )
    assert not hasattr(task, "level")
    assert "orange" not in repr(task)
    [peer] = selectors.my_tasks(committee_a1b)
    assert peer.task.startswith("Keep an eye on your classmate")
    assert selectors.my_tasks(world.head_teacher_b) == []
    assert selectors.my_tasks(world.mentor) == []


def test_my_tasks_end_when_the_case_closes_or_the_role_ends(world, case_a1):
    services.add_team_member(
        case_a1, actor=world.psych, user=world.head_teacher, role=Role.HEAD_TEACHER
    )
    assert len(selectors.my_tasks(world.head_teacher)) == 1
    from django.contrib.auth import get_user_model

    from xinqiao.access.models import RoleAssignment

    def fresh():  # no cached principal
        return get_user_model().objects.get(pk=world.head_teacher.pk)

    RoleAssignment.objects.filter(user=world.head_teacher, role=Role.HEAD_TEACHER).update(
        is_active=False
    )
    assert selectors.my_tasks(fresh()) == []
    RoleAssignment.objects.filter(user=world.head_teacher).update(is_active=True)
    assert len(selectors.my_tasks(fresh())) == 1
    Case.objects.filter(pk=case_a1.pk).update(status="closed")
    assert selectors.my_tasks(fresh()) == []


# --- support plan -----------------------------------------------------------------------------


def test_new_plan_version_replaces_the_previous_one(world, case_a1):
    today = timezone.localdate()
    first = services.save_support_plan(
        case_a1,
        actor=world.psych,
        goal="恢复正常作息",
        actions="每周面谈一次",
        owner=world.psych,
        review_on=today + datetime.timedelta(days=14),
    )
    second = services.save_support_plan(
        case_a1,
        actor=world.psych,
        goal="回归课堂",
        actions="班主任每日关注",
        owner=world.school_admin,
        review_on=today + datetime.timedelta(days=30),
    )
    assert selectors.current_plan(case_a1) == second
    assert list(SupportPlan.objects.filter(case=case_a1)) == [second, first]
    assert [e.fields["version"] for e in actions("cases.support_plan.saved")] == [1, 2]
    assert "回归课堂" not in str(actions("cases.support_plan.saved")[-1].fields)


def test_plan_owner_must_see_the_case_and_review_date_not_past(world, case_a1):
    today = timezone.localdate()
    kw = {"goal": "目标", "actions": "措施", "review_on": today}
    with pytest.raises(DomainError) as exc:
        services.save_support_plan(case_a1, actor=world.psych, owner=world.head_teacher, **kw)
    assert exc.value.field == "owner"
    kw["review_on"] = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(DomainError) as exc:
        services.save_support_plan(case_a1, actor=world.psych, owner=world.psych, **kw)
    assert exc.value.field == "review_on"
    with pytest.raises(PermissionDenied):
        services.save_support_plan(
            case_a1, actor=world.school_admin, owner=world.psych, **{**kw, "review_on": today}
        )


def test_plan_past_its_review_date_shows_overdue(world, case_a1):
    services.save_support_plan(
        case_a1,
        actor=world.psych,
        goal="目标",
        actions="措施",
        owner=world.psych,
        review_on=timezone.localdate() + datetime.timedelta(days=3),
    )
    principal = principal_for(world.school_admin)
    assert selectors.care_panel(principal, case_a1)["plan_overdue"] is False
    later = timezone.now() + datetime.timedelta(days=5)
    assert selectors.care_panel(principal, case_a1, now=later)["plan_overdue"] is True


# --- follow-ups -------------------------------------------------------------------------------


def test_follow_up_records_due_and_level_and_reschedules_by_level(world):
    case = world.case_a2
    was_due = case.next_follow_up_due
    done = timezone.now() - datetime.timedelta(hours=1)
    fu = follow_up(case, world.psych, done_at=done, trend="improving")
    assert (fu.due_at, fu.level_at_time, fu.recorded_by) == (was_due, "orange", world.psych)
    case.refresh_from_db()
    assert case.next_follow_up_due == done + datetime.timedelta(days=7)
    [event] = actions("cases.follow_up.recorded")
    assert event.fields["trend"] == "improving"
    assert "情绪" not in str(event.fields)


def test_double_submit_records_one_follow_up(world):
    first = follow_up(world.case_a2, world.psych, key="same")
    again = follow_up(world.case_a2, world.psych, key="same", note="另一次")
    assert again.pk == first.pk
    assert FollowUp.objects.count() == 1
    assert len(actions("cases.follow_up.recorded")) == 1


def test_a_key_of_another_case_is_refused(world, case_a1):
    follow_up(world.case_a2, world.psych, key="k")
    with pytest.raises(DomainError, match="expired"):
        follow_up(case_a1, world.psych, key="k")


def test_red_is_daily_until_referral_feedback_then_weekly(world):
    case = world.case_a2
    Case.objects.filter(pk=case.pk).update(level="red")
    case.refresh_from_db()
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        follow_up(case, world.psych, key="d1", done_at=start)
    case.refresh_from_db()
    assert case.next_follow_up_due == start + datetime.timedelta(days=1)
    world.referral_a2.status = "feedback"
    world.referral_a2.save(update_fields=["status"])
    later = start + datetime.timedelta(days=1)
    with time_machine.travel(later, tick=False):
        fu = follow_up(case, world.psych, key="d2", done_at=later)
    assert fu.level_at_time == "red"
    assert fu.due_at == start + datetime.timedelta(days=1)
    case.refresh_from_db()
    assert case.next_follow_up_due == later + datetime.timedelta(days=7)


def test_an_older_follow_up_does_not_pull_the_schedule_back(world):
    now = timezone.now()
    Case.objects.filter(pk=world.case_a2.pk).update(opened_at=now - datetime.timedelta(days=10))
    case = Case.objects.get(pk=world.case_a2.pk)
    follow_up(case, world.psych, key="new", done_at=now)
    follow_up(case, world.psych, key="old", done_at=now - datetime.timedelta(days=2))
    case.refresh_from_db()
    assert case.next_follow_up_due == now + datetime.timedelta(days=7)


def test_follow_up_validation(world):
    case = world.case_a2
    with pytest.raises(DomainError) as exc:
        follow_up(case, world.psych, done_at=timezone.now() + datetime.timedelta(hours=1))
    assert exc.value.field == "done_at"
    with pytest.raises(DomainError) as exc:
        follow_up(case, world.psych, note="   ")
    assert exc.value.field == "note"
    with pytest.raises(DomainError) as exc:
        follow_up(case, world.psych, method="telepathy")
    assert exc.value.field == "method"
    with pytest.raises(DomainError):
        follow_up(case, world.psych, key="")
    with pytest.raises(DomainError, match="before the case was opened"):
        follow_up(case, world.psych, done_at=case.opened_at - datetime.timedelta(days=2))
    assert FollowUp.objects.count() == 0


@pytest.mark.parametrize("who", ["school_admin", "psych_b", "head_teacher", "mentor"])
def test_only_the_schools_psychology_teacher_records_follow_ups(world, who):
    with pytest.raises(PermissionDenied):
        follow_up(world.case_a2, getattr(world, who))
    assert FollowUp.objects.count() == 0


def test_risk_signs_raise_an_orange_counselling_alert_and_tell_the_owner(world, psych2):
    fu = follow_up(world.case_a2, psych2, risk_signs=True)
    alert = Alert.objects.get(student=world.stu_a2, status="new")
    assert (alert.level, alert.source) == ("orange", "counselling")
    trigger = AlertTrigger.objects.get(alert=alert)
    assert trigger.rule == "case.follow_up.risk_signs"
    assert trigger.evidence["follow_up"] == fu.pk
    owner_notice = Notification.objects.get(kind="case.follow_up.risk_signs")
    assert owner_notice.recipient == world.psych
    assert owner_notice.url == f"/cases/{world.case_a2.code}/"
    assert "risk" not in owner_notice.subject.lower()
    event = actions("cases.follow_up.recorded")[-1]
    assert event.fields["alert"] == str(alert.code)


def test_risk_signs_do_not_add_noise_to_an_open_orange_alert(world, case_a1):
    triggers = AlertTrigger.objects.filter(alert=world.alert_a1).count()
    follow_up(case_a1, world.psych, risk_signs=True)
    assert AlertTrigger.objects.filter(alert=world.alert_a1).count() == triggers
    assert Alert.objects.filter(student=world.stu_a1).count() == 1
    assert not Notification.objects.filter(kind="case.follow_up.risk_signs").exists()  # owner acted


def test_risk_signs_raise_an_open_yellow_alert_to_orange(world):
    from xinqiao.alerts.services import raise_alert

    yellow = raise_alert(
        student=world.stu_a2, level="yellow", source="screening", evidence={}, rule="t"
    )
    follow_up(world.case_a2, world.psych, risk_signs=True)
    yellow.refresh_from_db()
    assert yellow.level == "orange"


def test_overdue_follow_ups_for_psych_and_leader_only_in_scope(world, case_a1):
    Case.objects.filter(pk=world.case_a2.pk).update(
        next_follow_up_due=timezone.now() - datetime.timedelta(hours=3)
    )
    for who in ("psych", "school_admin"):
        got = list(selectors.overdue_follow_ups(principal_for(getattr(world, who))))
        assert got == [world.case_a2]
    assert list(selectors.overdue_follow_ups(principal_for(world.psych_b))) == []
    assert list(selectors.overdue_follow_ups(principal_for(world.head_teacher))) == []
    later = timezone.now() + datetime.timedelta(days=8)
    got = list(selectors.overdue_follow_ups(principal_for(world.psych), now=later))
    assert got == [world.case_a2, case_a1]


# --- guardian contacts ------------------------------------------------------------------------


def test_contact_is_recorded_retry_safe(world, case_a1):
    first = contact(case_a1, world.psych, key="same")
    again = contact(case_a1, world.psych, key="same")
    assert first.pk == again.pk
    assert GuardianContact.objects.count() == 1
    [event] = actions("cases.guardian_contact.recorded")
    assert event.fields["consent"] == "given"
    assert "建议就医" not in str(event.fields)


def test_red_contact_without_acknowledgement_is_refused(world, red_case_a1):
    with pytest.raises(DomainError) as exc:
        contact(red_case_a1, world.psych, informed_of_level="red")
    assert exc.value.field == "acknowledgement"
    assert GuardianContact.objects.count() == 0


def test_red_contact_with_acknowledgement_stores_it_encrypted(world, red_case_a1):
    c = contact(red_case_a1, world.psych, informed_of_level="red", acknowledgement=pdf())
    doc = c.acknowledgement
    assert (doc.kind, doc.content_type, doc.original_name) == (
        "guardian_ack",
        "application/pdf",
        "回执.pdf",
    )
    from django.conf import settings

    stored = (settings.MEDIA_ROOT / "cases" / doc.storage_name).read_bytes()
    assert b"%PDF" not in stored
    assert selectors.acknowledgement_missing(c) is False


def test_red_contact_may_promise_the_acknowledgement_and_upload_it_later(world, red_case_a1):
    c = contact(red_case_a1, world.psych, informed_of_level="red", acknowledgement_later=True)
    assert selectors.acknowledgement_missing(c) is True
    panel = selectors.care_panel(principal_for(world.psych), red_case_a1)
    assert panel["ack_missing_count"] == 1
    services.upload_acknowledgement(
        c, actor=world.psych, upload=SimpleUploadedFile("a.png", PNG, "image/png")
    )
    c.refresh_from_db()
    assert c.acknowledgement.content_type == "image/png"
    assert selectors.acknowledgement_missing(c) is False
    with pytest.raises(DomainError, match="already"):
        services.upload_acknowledgement(c, actor=world.psych, upload=pdf())
    [event] = actions("cases.guardian_contact.acknowledgement_uploaded")
    assert event.fields["document"] == str(c.acknowledgement.code)


def test_upload_rejects_what_is_not_pdf_jpeg_or_png(world, red_case_a1):
    fake = SimpleUploadedFile("ack.pdf", b"GIF89a not a pdf", content_type="application/pdf")
    with pytest.raises(DomainError) as exc:
        contact(red_case_a1, world.psych, informed_of_level="red", acknowledgement=fake)
    assert exc.value.field == "file"
    c = contact(red_case_a1, world.psych, key="c2", informed_of_level="red",
                acknowledgement_later=True)  # fmt: skip
    with pytest.raises(DomainError):
        services.upload_acknowledgement(
            c, actor=world.psych, upload=SimpleUploadedFile("x.exe", b"MZ\x90\x00", "image/png")
        )
    c.refresh_from_db()
    assert c.acknowledgement is None


def test_informing_the_guardian_marks_the_alert_deadline(world, red_case_a1):
    at = timezone.now() - datetime.timedelta(minutes=30)
    contact(
        red_case_a1, world.psych, informed_of_level="red", contacted_at=at, acknowledgement=pdf()
    )
    world.alert_a1.refresh_from_db()
    assert world.alert_a1.guardian_informed_at == at
    event = actions("cases.guardian_contact.recorded")[-1]
    assert event.fields["alerts_guardian_informed"] == [str(world.alert_a1.code)]
    [informed] = actions("alerts.alert.guardian_informed")  # through the alerts app's service
    assert informed.actor_username == "psych_a"
    # Not overwritten by a later contact.
    contact(red_case_a1, world.psych, key="c2", informed_of_level="red", acknowledgement=pdf())
    world.alert_a1.refresh_from_db()
    assert world.alert_a1.guardian_informed_at == at


def test_informing_of_a_lower_level_does_not_meet_the_red_deadline(world, red_case_a1):
    contact(red_case_a1, world.psych, informed_of_level="yellow")
    world.alert_a1.refresh_from_db()
    assert world.alert_a1.guardian_informed_at is None


def test_contact_with_another_students_guardian_is_refused(world, case_a1):
    other = add_guardian(
        actor=None,
        student=world.stu_a2,
        relation=GuardianRelation.FATHER,
        name="李爸爸",
        phone="13900139000",
    )
    with pytest.raises(DomainError) as exc:
        contact(case_a1, world.psych, guardian=other)
    assert exc.value.field == "guardian"


@pytest.mark.parametrize("who", ["school_admin", "psych_b", "head_teacher", "station_counsellor"])
def test_only_the_schools_psychology_teacher_records_contacts(world, case_a1, who):
    with pytest.raises(PermissionDenied):
        contact(case_a1, getattr(world, who))


def test_guardian_phone_is_masked_without_the_capability(world, case_a1):
    [full] = selectors.case_guardians(case_a1, full_phone=True)
    [masked] = selectors.case_guardians(case_a1, full_phone=False)
    assert full.phone == "13800138000"
    assert masked.phone == "138****8000"
    assert "13800138000" not in masked.label
    assert selectors.show_guardian_phone(principal_for(world.psych), case_a1) is True
    assert selectors.show_guardian_phone(principal_for(world.psych_b), case_a1) is False


# --- encryption at rest -----------------------------------------------------------------------


def test_notes_are_encrypted_in_the_database(world, red_case_a1):
    follow_up(red_case_a1, world.psych, note="他说晚上睡不着想跳楼")
    contact(
        red_case_a1,
        world.psych,
        what_was_said="告诉妈妈孩子有轻生念头",
        guardian_response="妈妈哭了，同意就医",
        informed_of_level="red",
        acknowledgement=pdf(),
    )
    services.save_support_plan(
        red_case_a1,
        actor=world.psych,
        goal="保证安全度过考试季",
        actions="每日面谈",
        owner=world.psych,
        review_on=timezone.localdate(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM cases_followup")
        rows = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT what_was_said, guardian_response FROM cases_guardiancontact")
        rows += [v for r in cursor.fetchall() for v in r]
        cursor.execute("SELECT goal, actions FROM cases_supportplan")
        rows += [v for r in cursor.fetchall() for v in r]
    assert len(rows) == 5
    for raw in rows:
        for plain in ("跳楼", "轻生", "妈妈", "考试季", "每日面谈"):
            assert plain not in raw
    assert FollowUp.objects.get().note == "他说晚上睡不着想跳楼"
