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
