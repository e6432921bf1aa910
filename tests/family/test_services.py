"""A guardian's consent answer through the screening consent service."""

from __future__ import annotations

import pytest

from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.screening.models import Assignment, AssignmentStatus, Consent, ConsentBasis
from xinqiao.screening.services import answer_consent_as_guardian


def _status(assignment) -> str:
    return Assignment.objects.get(pk=assignment.pk).status


def _events():
    return AuditEvent.objects.filter(action="screening.consent.answered")


def test_open_campaign_waits_for_the_guardian(family):
    assert _status(family.assignment_a1) == AssignmentStatus.NO_CONSENT


def test_give_consent_records_guardian_basis_and_assigns(family):
    w = family.world
    consent = answer_consent_as_guardian(
        actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=True, note=" 好的 "
    )
    assert (consent.granted, consent.basis, consent.recorded_by_id, consent.note) == (
        True,
        ConsentBasis.GUARDIAN_CONSENT,
        w.parent.pk,
        "好的",
    )
    assert _status(family.assignment_a1) == AssignmentStatus.ASSIGNED
    event = _events().get()
    assert event.actor_id == w.parent.pk
    assert event.school_id == w.school_a.pk
    assert event.fields == {
        "student": str(w.stu_a1.code),
        "granted": True,
        "before": None,
        "basis": "guardian_consent",
        "note": True,
    }


def test_refuse_then_change_moves_the_assignment_each_time(family):
    w = family.world
    answer_consent_as_guardian(
        actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=False
    )
    assert _status(family.assignment_a1) == AssignmentStatus.NO_CONSENT
    answer_consent_as_guardian(
        actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=True
    )
    assert _status(family.assignment_a1) == AssignmentStatus.ASSIGNED
    answer_consent_as_guardian(
        actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=False
    )
    assert _status(family.assignment_a1) == AssignmentStatus.NO_CONSENT
    assert Consent.objects.filter(campaign=family.campaign, student=w.stu_a1).count() == 1
    assert [e.fields["before"] for e in _events().order_by("seq")] == [None, False, True]


def test_double_submit_records_once(family):
    w = family.world
    for _ in range(2):
        answer_consent_as_guardian(
            actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=True, note="同意"
        )
    assert Consent.objects.filter(campaign=family.campaign, student=w.stu_a1).count() == 1
    assert _events().count() == 1


def test_answer_after_school_recorded_it_is_the_parents(family):
    # The head teacher recorded a paper slip; the parent's own answer replaces it (and is audited).
    from xinqiao.screening.services import record_consents

    w = family.world
    record_consents(
        actor=w.head_teacher, campaign=family.campaign, students=[w.stu_a1], granted=True
    )
    answer_consent_as_guardian(
        actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=True
    )
    consent = Consent.objects.get(campaign=family.campaign, student=w.stu_a1)
    assert consent.recorded_by_id == w.parent.pk
    assert _events().count() == 1


@pytest.mark.parametrize("status", ["started", "completed", "invalid"])
def test_refused_once_the_child_has_begun(family, status):
    w = family.world
    Assignment.objects.filter(pk=family.assignment_a1.pk).update(status=status)
    with pytest.raises(DomainError):
        answer_consent_as_guardian(
            actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=False
        )
    assert not Consent.objects.filter(campaign=family.campaign).exists()
    assert _status(family.assignment_a1) == status


def test_another_familys_child_is_refused(family):
    w = family.world
    with pytest.raises(DomainError):
        answer_consent_as_guardian(
            actor=family.other_parent, campaign=family.campaign, student=w.stu_a1, granted=False
        )
    assert not Consent.objects.filter(campaign=family.campaign).exists()


@pytest.mark.parametrize("who", ["psych", "head_teacher", "committee", "city_admin"])
def test_staff_and_students_cannot_answer_as_guardian(family, who):
    w = family.world
    with pytest.raises(DomainError):
        answer_consent_as_guardian(
            actor=getattr(w, who), campaign=family.campaign, student=w.stu_a1, granted=True
        )


def test_statutory_campaign_asks_no_consent(family):
    w = family.world
    with pytest.raises(DomainError):
        answer_consent_as_guardian(
            actor=w.parent, campaign=w.campaign, student=w.stu_a1, granted=False
        )


def test_closed_campaign_is_refused(family):
    from xinqiao.screening.services import close_campaign

    w = family.world
    close_campaign(actor=w.psych, campaign=family.campaign)
    with pytest.raises(DomainError):
        answer_consent_as_guardian(
            actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=True
        )
