"""Consent: record guardians' and students' answers for a campaign's assignments."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.people.models import Student

from ..models import Assignment, Campaign, CampaignStatus, Consent, ConsentBasis
from .assignments import _apply_consent_status


@transaction.atomic
def record_consents(
    *,
    actor: Actor,
    campaign: Campaign,
    students: Sequence[Student],
    granted: bool,
    note: str = "",
) -> int:
    """Record guardian consent (or refusal) for several students at once, e.g. a whole class."""
    campaign = Campaign.objects.get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED):
        raise DomainError(_("The campaign is closed."))
    principal = principal_for(actor)
    allowed = principal.students(cap=Cap.RECORD_CONSENT).filter(pk__in=[s.pk for s in students])
    if allowed.count() != len({s.pk for s in students}):
        raise DomainError(_("Some students are outside your responsibility."))
    now = timezone.now()
    basis = (
        ConsentBasis.GUARDIAN_CONSENT if campaign.needs_guardian_consent else campaign.consent_basis
    )
    ids = [s.pk for s in students]
    existing = set(
        Consent.objects.filter(campaign=campaign, student_id__in=ids).values_list(
            "student_id", flat=True
        )
    )
    Consent.objects.filter(campaign=campaign, student_id__in=existing).update(
        granted=granted, recorded_by=actor, recorded_at=now, note=note, basis=basis
    )
    Consent.objects.bulk_create(
        [
            Consent(
                campaign=campaign,
                student_id=pk,
                basis=basis,
                granted=granted,
                recorded_by=actor,
                recorded_at=now,
                note=note,
            )
            for pk in ids
            if pk not in existing
        ]
    )
    if campaign.status == CampaignStatus.OPEN:
        _apply_consent_status(
            campaign, Assignment.objects.filter(campaign=campaign, student_id__in=ids)
        )
    school_ids = {s.school_id for s in students}
    record_event(
        actor=actor,
        action="screening.consent.recorded",
        obj=campaign,
        school_id=school_ids.pop() if len(school_ids) == 1 else None,
        fields={"students": len(ids), "granted": granted, "basis": basis},
    )
    return len(ids)


@transaction.atomic
def answer_consent_as_guardian(
    *,
    actor: Actor,
    campaign: Campaign,
    student: Student,
    granted: bool,
    note: str = "",
) -> Consent:
    """A guardian gives or refuses consent for their own child (the family pages).

    Effects, in order: the child's assignment row is locked (two clicks are serialised); the
    answer is refused once the child has begun the questionnaire; the same answer again changes
    nothing and writes no event (a double click); otherwise the one consent row of the campaign
    and child is written (basis: guardian consent, recorded by the guardian), the assignment moves
    between no consent and assigned as for staff-recorded consent, and
    `screening.consent.answered` is audited."""
    from ..selectors import STARTED_STATES

    principal = principal_for(actor)
    if not principal.students(cap=Cap.GIVE_CONSENT).filter(pk=student.pk).exists():
        raise DomainError(_("You can answer only for your own child."))
    campaign = Campaign.objects.get(pk=campaign.pk)
    if not campaign.needs_guardian_consent:
        raise DomainError(_("This screening does not ask for your consent."))
    if campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("This screening is not open."))
    note = note.strip()
    assignments = list(
        Assignment.objects.select_for_update().filter(campaign=campaign, student=student)
    )
    if not assignments:
        raise DomainError(_("Your child is not part of this screening."))
    if any(a.status in STARTED_STATES or a.started_at is not None for a in assignments):
        raise DomainError(
            _("Your child has already begun the questionnaire; the answer can no longer change.")
        )
    consent = Consent.objects.filter(campaign=campaign, student=student).first()
    if (
        consent is not None
        and consent.granted == granted
        and consent.note == note
        and consent.basis == ConsentBasis.GUARDIAN_CONSENT
        and consent.recorded_by_id == getattr(actor, "pk", None)
    ):
        return consent  # the same answer again: nothing to change, nothing to audit
    before = None if consent is None else consent.granted
    now = timezone.now()
    if consent is None:
        consent = Consent(campaign=campaign, student=student)
    consent.basis = ConsentBasis.GUARDIAN_CONSENT
    consent.granted = granted
    consent.recorded_by = actor
    consent.recorded_at = now
    consent.note = note
    consent.save()
    _apply_consent_status(campaign, Assignment.objects.filter(pk__in=[a.pk for a in assignments]))
    record_event(
        actor=actor,
        action="screening.consent.answered",
        obj=campaign,
        school_id=student.school_id,
        fields={
            "student": str(student.code),
            "granted": granted,
            "before": before,
            "basis": ConsentBasis.GUARDIAN_CONSENT,
            "note": bool(note),
        },
    )
    return consent
