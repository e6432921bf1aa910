"""Referral green channel (R9/R25): consent rules, retry safety, status transitions, the
psychiatrist's scope, feedback flowing back to the school, audit events.

Personas: world.psych runs school A's cases; world.psychiatrist works at the city hospital
(world.referral_a2 names them for stu_a2); `other` is a psychiatrist at a district-B hospital
who must see nothing of school A; `colleague` is a second psychiatrist at the city hospital.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from tests.conftest import _user
from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.cases import documents
from xinqiao.cases.models import (
    Case,
    CaseDocument,
    ConsentBasis,
    FollowUp,
    GuardianContact,
    Referral,
    ReferralStatus,
)
from xinqiao.cases.selectors import referrals as selectors
from xinqiao.cases.services import referrals as services
from xinqiao.core.errors import DomainError
from xinqiao.notifications.models import InboxMessage, Notification
from xinqiao.notifications.services import dispatch_outbox
from xinqiao.orgs.services import create_unit
from xinqiao.people.models import Guardian

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def more(world):
    """Hospitals of district A and district B, a second city psychiatrist, a district-B
    psychiatrist, and an open red case for stu_a1 (no referral yet)."""
    w = world
    w.hospital_da = create_unit(actor=None, parent=w.district_a, kind="hospital", name="甲区医院")
    w.hospital_db = create_unit(actor=None, parent=w.district_b, kind="hospital", name="乙区医院")
    w.colleague = _user("psychiatrist2", "第二位医生", w.hospital, Role.PSYCHIATRIST)
    w.other = _user("psychiatrist_b", "乙区医生", w.hospital_db, Role.PSYCHIATRIST)
    w.doctor_da = _user("psychiatrist_da", "甲区医生", w.hospital_da, Role.PSYCHIATRIST)
    now = timezone.now()
    w.case_a1 = Case.objects.create(
        student=w.stu_a1,
        school=w.school_a,
        level="red",
        level_since=now - datetime.timedelta(days=2),
        owner=w.psych,
        opened_at=now - datetime.timedelta(days=2),
        opened_by=w.psych,
        next_follow_up_due=now + datetime.timedelta(days=1),
    )
    w.guardian_a1 = Guardian.objects.get(student=w.stu_a1)
    return w


def contact(case, *, consent="given", actor):
    guardian = Guardian.objects.filter(student=case.student).first()
    return GuardianContact.objects.create(
        case=case,
        guardian=guardian,
        method="phone",
        contacted_at=timezone.now(),
        what_was_said="电话沟通转介事宜",
        consent=consent,
        recorded_by=actor,
        client_key=uuid.uuid4().hex,
        created_at=timezone.now(),
    )


def refer(w, case=None, **overrides):
    case = case or w.case_a1
    kwargs = {
        "actor": w.psych,
        "hospital": w.hospital,
        "psychiatrist": w.psychiatrist,
        "reason": "自述有自伤念头，需要专科评估",
        "consent_basis": ConsentBasis.GUARDIAN_CONSENT,
        "consent_document": SimpleUploadedFile("同意书.pdf", PDF, "application/pdf"),
        "client_key": uuid.uuid4().hex,
    }
    kwargs.update(overrides)
    return services.refer(case, **kwargs)


def walk_to_seen(w, referral, actor=None):
    actor = actor or referral.psychiatrist
    services.mark_received(referral, actor=actor)
    services.mark_seen(referral, actor=actor, seen_on=timezone.localdate())
    referral.refresh_from_db()
    return referral


def actions(referral) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="cases.referral", object_id=str(referral.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


# --- consent rules -------------------------------------------------------------------------------
def test_refer_without_consent_is_refused(more):
    with pytest.raises(DomainError) as exc:
        refer(more, consent_document=None)
    assert exc.value.field == "consent_basis"
    assert not Referral.objects.filter(case=more.case_a1).exists()
    assert not CaseDocument.objects.filter(case=more.case_a1).exists()


def test_refer_with_uploaded_consent_stores_it_encrypted(more):
    referral = refer(more)
    doc = referral.consent_document
    assert doc.kind == "referral_consent"
    assert doc.case == more.case_a1
    assert documents.read_document(doc) == PDF
    stored = (documents._root() / doc.storage_name).read_bytes()
    assert PDF not in stored


def test_refer_rejects_an_upload_that_is_not_a_document(more):
    with pytest.raises(DomainError) as exc:
        refer(more, consent_document=SimpleUploadedFile("x.pdf", b"MZ\x90\x00", "application/pdf"))
    assert exc.value.field == "file"
    assert not Referral.objects.filter(case=more.case_a1).exists()


def test_refer_with_a_chosen_consent_contact(more):
    given = contact(more.case_a1, actor=more.psych)
    referral = refer(more, consent_document=None, consent_contact=given)
    assert referral.consent_contact == given
    assert referral.consent_document is None


@pytest.mark.parametrize("answer", ["refused", "not_asked"])
def test_refer_refuses_a_contact_without_consent(more, answer):
    no = contact(more.case_a1, consent=answer, actor=more.psych)
    with pytest.raises(DomainError) as exc:
        refer(more, consent_document=None, consent_contact=no)
    assert exc.value.field == "consent_contact"


def test_refer_refuses_a_contact_of_another_case(more):
    elsewhere = contact(more.case_a2, actor=more.psych)
    with pytest.raises(DomainError) as exc:
        refer(more, consent_document=None, consent_contact=elsewhere)
    assert exc.value.field == "consent_contact"


def test_consent_contacts_lists_only_given_consents_of_the_case(more):
    given = contact(more.case_a1, actor=more.psych)
    contact(more.case_a1, consent="refused", actor=more.psych)
    contact(more.case_a2, actor=more.psych)
    assert list(selectors.consent_contacts(more.case_a1)) == [given]


def test_emergency_without_a_reason_is_refused(more):
    with pytest.raises(DomainError) as exc:
        refer(more, consent_basis=ConsentBasis.EMERGENCY, consent_document=None)
    assert exc.value.field == "emergency_reason"


def test_emergency_with_a_reason_needs_no_consent(more):
    referral = refer(
        more,
        consent_basis=ConsentBasis.EMERGENCY,
        consent_document=None,
        emergency_reason="学生当晚有明确计划，家长联系不上",
    )
    assert referral.consent_basis == "emergency"
    assert referral.emergency_reason == "学生当晚有明确计划，家长联系不上"


def test_unknown_legal_basis_is_refused(more):
    with pytest.raises(DomainError) as exc:
        refer(more, consent_basis="because")
    assert exc.value.field == "consent_basis"


def test_refer_needs_a_reason(more):
    with pytest.raises(DomainError) as exc:
        refer(more, reason="   ")
    assert exc.value.field == "reason"


# --- the directory -------------------------------------------------------------------------------
def test_hospitals_for_are_the_citys_and_the_districts(more):
    from xinqiao.partners.models import HospitalArea

    HospitalArea.objects.all().delete()  # no area (片区): the district's own hospital first
    assert list(selectors.hospitals_for(more.case_a1)) == [more.hospital_da, more.hospital]
    directory = selectors.hospital_directory(more.case_a1)
    assert [(e.hospital, e.psychiatrists) for e in directory] == [
        (more.hospital_da, [more.doctor_da]),
        (more.hospital, sorted([more.psychiatrist, more.colleague], key=selectors.person_name)),
    ]


def test_inactive_hospital_is_not_in_the_directory(more):
    more.hospital_da.is_active = False
    more.hospital_da.save(update_fields=["is_active"])
    assert list(selectors.hospitals_for(more.case_a1)) == [more.hospital]


def test_refer_to_a_hospital_outside_the_directory_is_refused(more):
    with pytest.raises(DomainError) as exc:
        refer(more, hospital=more.hospital_db, psychiatrist=None)
    assert exc.value.field == "hospital"


def test_refer_to_a_psychiatrist_of_another_hospital_is_refused(more):
    with pytest.raises(DomainError) as exc:
        refer(more, hospital=more.hospital, psychiatrist=more.doctor_da)
    assert exc.value.field == "hospital"


# --- who may refer, one at a time, retry safety --------------------------------------------------
@pytest.mark.parametrize("who", ["psych_b", "head_teacher", "school_admin", "psychiatrist"])
def test_only_the_schools_psychology_teacher_may_refer(more, who):
    with pytest.raises(PermissionDenied):
        refer(more, actor=getattr(more, who))
    assert not Referral.objects.filter(case=more.case_a1).exists()


def test_refer_is_retry_safe(more):
    key = uuid.uuid4().hex
    first = refer(more, client_key=key)
    again = refer(more, client_key=key)
    assert again.pk == first.pk
    assert Referral.objects.filter(case=more.case_a1).count() == 1
    assert actions(first) == ["cases.referral.sent"]
    assert Notification.objects.filter(kind="case.referral.sent").count() == 1
    assert CaseDocument.objects.filter(case=more.case_a1).count() == 1


def test_a_key_of_another_case_is_refused(more):
    key = uuid.uuid4().hex
    refer(more, client_key=key)
    services.cancel_referral(more.referral_a2, actor=more.psych, reason="not_needed")
    with pytest.raises(DomainError):
        refer(more, case=more.case_a2, client_key=key)


def test_one_open_referral_per_case(more):
    first = refer(more)
    with pytest.raises(DomainError) as exc:
        refer(more)
    assert "open referral" in exc.value.message
    services.cancel_referral(first, actor=more.psych, reason="sent_in_error")
    second = refer(more)
    walk_to_seen(more, second)
    services.give_feedback(second, actor=more.psychiatrist, advice_for_school="每周随访")
    third = refer(more)  # feedback closes the referral: a new one may be sent
    assert third.status == ReferralStatus.SENT


def test_closed_case_cannot_be_referred(more):
    more.case_a1.status = "closed"
    more.case_a1.save(update_fields=["status"])
    with pytest.raises(DomainError):
        refer(more)


# --- notifications -------------------------------------------------------------------------------
def test_refer_notifies_the_named_psychiatrist_without_clinical_detail(more):
    referral = refer(more)
    rows = list(Notification.objects.filter(kind="case.referral.sent"))
    assert [r.recipient for r in rows] == [more.psychiatrist]
    subject = rows[0].subject
    assert more.stu_a1.name not in subject
    assert "自伤" not in subject
    assert "red" not in subject.lower()
    assert rows[0].url == f"/cases/referrals/{referral.code}/"


def test_refer_without_psychiatrist_notifies_every_psychiatrist_of_the_hospital(more):
    refer(more, psychiatrist=None)
    recipients = {r.recipient for r in Notification.objects.filter(kind="case.referral.sent")}
    assert recipients == {more.psychiatrist, more.colleague}


# --- status transitions --------------------------------------------------------------------------
def test_full_path_sent_received_seen_feedback(more):
    referral = refer(more)
    services.mark_received(referral, actor=more.psychiatrist)
    services.mark_seen(referral, actor=more.psychiatrist, seen_on=timezone.localdate())
    services.give_feedback(
        referral,
        actor=more.psychiatrist,
        diagnosis_category="F30-F39",
        advice_for_school="按时服药，避免考试压力",
        next_review_on=timezone.localdate() + datetime.timedelta(days=28),
    )
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.FEEDBACK
    assert referral.received_at is not None
    assert referral.seen_at is not None
    assert referral.feedback_at is not None
    assert referral.feedback_by == more.psychiatrist
    assert referral.diagnosis_category == "F30-F39"
    assert actions(referral) == [
        "cases.referral.sent",
        "cases.referral.received",
        "cases.referral.seen",
        "cases.referral.feedback_given",
    ]


def test_seen_before_received_is_refused(more):
    referral = refer(more)
    with pytest.raises(DomainError) as exc:
        services.mark_seen(referral, actor=more.psychiatrist, seen_on=timezone.localdate())
    assert exc.value.message == "Mark the referral as received first."


def test_feedback_before_seen_is_refused(more):
    referral = refer(more)
    with pytest.raises(DomainError) as exc:
        services.give_feedback(referral, actor=more.psychiatrist, advice_for_school="x")
    assert exc.value.message == "Record the visit (the date the student was seen) first."
    services.mark_received(referral, actor=more.psychiatrist)
    with pytest.raises(DomainError):
        services.give_feedback(referral, actor=more.psychiatrist, advice_for_school="x")
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.RECEIVED


def test_repeated_steps_are_refused(more):
    referral = walk_to_seen(more, refer(more))
    with pytest.raises(DomainError):
        services.mark_received(referral, actor=more.psychiatrist)
    with pytest.raises(DomainError):
        services.mark_seen(referral, actor=more.psychiatrist, seen_on=timezone.localdate())
    services.give_feedback(referral, actor=more.psychiatrist, advice_for_school="建议")
    with pytest.raises(DomainError) as exc:
        services.give_feedback(referral, actor=more.psychiatrist, advice_for_school="再次")
    assert exc.value.message == "Feedback has already been given for this referral."
    with pytest.raises(DomainError):
        services.cancel_referral(referral, actor=more.psych, reason="other")


def test_seen_date_cannot_be_in_the_future_or_before_sending(more):
    referral = refer(more)
    services.mark_received(referral, actor=more.psychiatrist)
    with pytest.raises(DomainError) as exc:
        services.mark_seen(
            referral, actor=more.psychiatrist, seen_on=timezone.localdate() + datetime.timedelta(1)
        )
    assert exc.value.field == "seen_on"
    with pytest.raises(DomainError) as exc:
        services.mark_seen(
            referral, actor=more.psychiatrist, seen_on=timezone.localdate() - datetime.timedelta(9)
        )
    assert exc.value.field == "seen_on"


def test_feedback_needs_advice_and_a_future_review(more):
    referral = walk_to_seen(more, refer(more))
    with pytest.raises(DomainError) as exc:
        services.give_feedback(referral, actor=more.psychiatrist, advice_for_school="  ")
    assert exc.value.field == "advice_for_school"
    with pytest.raises(DomainError) as exc:
        services.give_feedback(
            referral,
            actor=more.psychiatrist,
            advice_for_school="建议",
            next_review_on=timezone.localdate() - datetime.timedelta(days=1),
        )
    assert exc.value.field == "next_review_on"
    with pytest.raises(DomainError) as exc:
        services.give_feedback(
            referral, actor=more.psychiatrist, advice_for_school="建议", diagnosis_category="F99"
        )
    assert exc.value.field == "diagnosis_category"


def test_another_psychiatrist_cannot_act_on_a_named_referral(more):
    referral = refer(more)  # names world.psychiatrist
    for outsider in (more.other, more.psych, more.doctor_da):
        with pytest.raises(PermissionDenied):
            services.mark_received(referral, actor=outsider)
    with pytest.raises(DomainError) as exc:  # a colleague at the same hospital
        services.mark_received(referral, actor=more.colleague)
    assert exc.value.message == "Another psychiatrist of the hospital has taken this referral."
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


def test_cancel_needs_a_listed_reason_and_the_handler(more):
    referral = refer(more)
    with pytest.raises(DomainError) as exc:
        services.cancel_referral(referral, actor=more.psych, reason="because")
    assert exc.value.field == "reason"
    with pytest.raises(PermissionDenied):
        services.cancel_referral(referral, actor=more.psych_b, reason="other")
    with pytest.raises(PermissionDenied):
        services.cancel_referral(referral, actor=more.psychiatrist, reason="other")
    services.cancel_referral(referral, actor=more.psych, reason="consent_withdrawn")
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CANCELLED
    event = AuditEvent.objects.get(action="cases.referral.cancelled")
    assert event.fields["reason"] == "consent_withdrawn"
    assert event.school_id == more.school_a.pk
    with pytest.raises(DomainError):
        services.cancel_referral(referral, actor=more.psych, reason="other")
    assert [r.recipient for r in Notification.objects.filter(kind="case.referral.cancelled")] == [
        more.psychiatrist
    ]


def test_cancelled_referral_is_closed_to_the_psychiatrist(more):
    referral = refer(more)
    services.cancel_referral(referral, actor=more.psych, reason="not_needed")
    with pytest.raises(PermissionDenied):
        services.mark_received(referral, actor=more.psychiatrist)
    principal = principal_for(more.psychiatrist)
    assert not principal.students().filter(pk=more.stu_a1.pk).exists()


# --- the psychiatrist's scope --------------------------------------------------------------------
def test_psychiatrist_sees_exactly_the_referred_student(world):
    principal = principal_for(world.psychiatrist)
    assert list(principal.students()) == [world.stu_a2]
    assert principal.get_student(world.stu_a2.code) == world.stu_a2
    for other in (world.stu_a1, world.stu_b1):
        with pytest.raises(Http404):
            principal.get_student(other.code)
    assert principal.tier_for(world.stu_a2) == 3


def test_psychiatrist_at_another_hospital_sees_nothing(more):
    principal = principal_for(more.other)
    assert list(principal.students()) == []
    with pytest.raises(Http404):
        principal.get_student(more.stu_a2.code)
    with pytest.raises(Http404):
        selectors.get_referral_for_psychiatrist(principal=principal, code=more.referral_a2.code)
    assert list(selectors.psychiatrist_referrals(principal=principal)) == []


def test_colleague_at_the_same_hospital_does_not_see_a_named_referral(more):
    principal = principal_for(more.colleague)
    assert list(principal.students()) == []
    with pytest.raises(Http404):
        selectors.get_referral_for_psychiatrist(principal=principal, code=more.referral_a2.code)


def test_unassigned_referral_is_visible_hospital_wide_until_taken(more):
    referral = refer(more, psychiatrist=None)
    for doctor in (more.psychiatrist, more.colleague):
        assert principal_for(doctor).students().filter(pk=more.stu_a1.pk).exists()
    assert not principal_for(more.doctor_da).students().filter(pk=more.stu_a1.pk).exists()
    with pytest.raises(DomainError):  # seen before taking
        services.mark_seen(referral, actor=more.colleague, seen_on=timezone.localdate())
    services.mark_received(referral, actor=more.colleague)
    referral.refresh_from_db()
    assert referral.psychiatrist == more.colleague
    event = AuditEvent.objects.get(action="cases.referral.received")
    assert event.fields["taken"] is True
    # The other psychiatrist of the hospital no longer sees the student (fresh principals).
    from django.contrib.auth import get_user_model

    fresh = get_user_model().objects.get(pk=more.psychiatrist.pk)
    assert list(principal_for(fresh).students()) == [more.stu_a2]
    with pytest.raises(DomainError) as exc:  # the page was still open: a clear message
        services.mark_received(referral, actor=fresh)
    assert exc.value.message == "Another psychiatrist of the hospital has taken this referral."


def test_psychiatrist_loses_a_student_whose_referral_is_cancelled(world):
    services.cancel_referral(world.referral_a2, actor=world.psych, reason="other_provider")
    assert list(principal_for(world.psychiatrist).students()) == []


def test_psychiatrist_scope_ends_with_the_hospital_assignment(world):
    from xinqiao.access.models import RoleAssignment

    RoleAssignment.objects.filter(user=world.psychiatrist).update(is_active=False)
    from django.contrib.auth import get_user_model

    fresh = get_user_model().objects.get(pk=world.psychiatrist.pk)
    assert list(principal_for(fresh).students()) == []


def test_referral_summary_is_minimal(more):
    FollowUp.objects.create(
        case=more.case_a2,
        done_at=timezone.now(),
        method="interview",
        trend="stable",
        level_at_time="orange",
        note="随访笔记：不应给医生看",
        recorded_by=more.psych,
        client_key="fu-1",
        created_at=timezone.now(),
    )
    principal = principal_for(more.psychiatrist)
    referral = selectors.get_referral_for_psychiatrist(
        principal=principal, code=more.referral_a2.code
    )
    summary = selectors.referral_summary(principal=principal, referral=referral)
    assert summary.student == more.stu_a2
    assert summary.level == "orange"
    assert summary.owner_name == "甲校心理老师"
    assert summary.age == selectors.age_on(more.stu_a2.birth_date, timezone.localdate())
    assert summary.can_act is True
    assert not any("随访" in str(v) for v in vars(summary).values())


def test_age_on():
    born = datetime.date(2013, 6, 15)
    assert selectors.age_on(born, datetime.date(2026, 6, 14)) == 12
    assert selectors.age_on(born, datetime.date(2026, 6, 15)) == 13


# --- feedback flows back ------------------------------------------------------------------------
def test_feedback_moves_a_red_case_from_daily_to_weekly(more):
    case = more.case_a1
    last = timezone.now() - datetime.timedelta(hours=3)
    FollowUp.objects.create(
        case=case,
        done_at=last,
        method="interview",
        trend="stable",
        level_at_time="red",
        note="n",
        recorded_by=more.psych,
        client_key="fu-red",
        created_at=last,
    )
    referral = walk_to_seen(more, refer(more))
    services.give_feedback(referral, actor=more.psychiatrist, advice_for_school="建议住院评估")
    case.refresh_from_db()
    assert case.next_follow_up_due == last + datetime.timedelta(days=7)


def test_feedback_reaches_the_owners_inbox_without_clinical_detail(more):
    referral = walk_to_seen(more, refer(more))
    services.give_feedback(
        referral,
        actor=more.psychiatrist,
        diagnosis_category="F40-F48",
        advice_for_school="减少学业压力",
    )
    dispatch_outbox()
    messages = list(InboxMessage.objects.filter(recipient=more.psych))
    feedback = [m for m in messages if m.url == f"/cases/{more.case_a1.code}/"]
    assert len(feedback) == 1
    assert "减少" not in feedback[0].subject
    assert "Anxiety" not in feedback[0].subject
    assert more.stu_a1.name not in feedback[0].subject
    event = AuditEvent.objects.get(action="cases.referral.feedback_given")
    assert "减少" not in str(event.fields)
    assert "F40" not in str(event.fields)
    assert event.fields["diagnosis_stated"] is True


# --- the psychology teacher's lists -------------------------------------------------------------
def test_awaiting_feedback_oldest_first_and_scoped(more):
    newer = refer(more)
    principal = principal_for(more.psych)
    assert list(selectors.awaiting_feedback(principal)) == [more.referral_a2, newer]
    assert list(selectors.awaiting_feedback(principal_for(more.psych_b))) == []
    assert list(selectors.awaiting_feedback(principal_for(more.head_teacher))) == []
    walk_to_seen(more, newer)
    services.give_feedback(newer, actor=more.psychiatrist, advice_for_school="建议")
    assert list(selectors.awaiting_feedback(principal)) == [more.referral_a2]


def test_case_referrals_shows_details_only_to_note_readers(more):
    referral = refer(more)
    services.cancel_referral(referral, actor=more.psych, reason="sent_in_error")
    rows = selectors.case_referrals(principal=principal_for(more.psych), case=more.case_a1)
    assert [r.referral for r in rows] == [referral]
    assert rows[0].show_details is True
    assert [s.key for s in rows[0].steps] == ["sent", "cancelled"]
    assert rows[0].cancel_reason == "Sent in error (wrong hospital or details)"
    leader_rows = selectors.case_referrals(
        principal=principal_for(more.school_admin), case=more.case_a1
    )
    assert leader_rows[0].show_details is False
