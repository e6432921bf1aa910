"""Absences and re-sits: mark a student absent, give them a re-sit (a new assignment)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.instruments.engine import UnknownInstrumentError, get_definition

from ..models import Assignment, AssignmentStatus, CampaignStatus
from .assignments import consent_withheld


def _require_assignment_manager(actor: Actor, assignment: Assignment) -> None:
    principal = principal_for(actor)
    if not principal.students(cap=Cap.MANAGE_ASSIGNMENTS).filter(pk=assignment.student_id).exists():
        raise DomainError(_("This student is outside your responsibility."))


@transaction.atomic
def mark_absent(*, actor: Actor, assignment: Assignment) -> Assignment:
    _require_assignment_manager(actor, assignment)
    assignment = (
        Assignment.objects.select_for_update().select_related("campaign").get(pk=assignment.pk)
    )
    if assignment.campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("The campaign is not open."))
    if assignment.status not in (AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED):
        raise DomainError(_("Only a student who has not finished can be marked absent."))
    assignment.status = AssignmentStatus.ABSENT
    assignment.save(update_fields=["status"])
    record_event(
        actor=actor,
        action="screening.assignment.marked_absent",
        obj=assignment,
        fields={"student": str(assignment.student.code)},
    )
    return assignment


@transaction.atomic
def assign_resit(
    *, actor: Actor, assignment: Assignment, instruments: Sequence[str] = ()
) -> Assignment:
    """A re-sit (or, with `instruments`, a follow-up) linked to the original by `resit_of`.

    It carries a one-time personal link token for a make-up outside a class sitting.
    """
    _require_assignment_manager(actor, assignment)
    original = (
        Assignment.objects.select_for_update().select_related("campaign").get(pk=assignment.pk)
    )
    if original.campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("The campaign is not open."))
    # The original's status predates any later objection (a student marked absent keeps ABSENT):
    # the consent record decides.
    if original.status in (
        AssignmentStatus.NO_CONSENT,
        AssignmentStatus.SUSPENDED,
    ) or consent_withheld(original.campaign, original.student_id):
        raise DomainError(_("This student may not take the questionnaire."))
    codes = []
    for code in instruments:
        try:
            defn = get_definition(code)
        except UnknownInstrumentError:
            raise DomainError(_("Unknown instrument: %(code)s") % {"code": code}) from None
        codes.append(defn.code)
    if original.resit_of is not None:
        original = original.resit_of  # always link to the first sitting
    if Assignment.objects.filter(
        resit_of=original, status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED]
    ).exists():
        raise DomainError(_("A re-sit is already waiting for this student."))
    resit = Assignment.objects.create(
        campaign=original.campaign,
        student_id=original.student_id,
        school_id=original.school_id,
        school_class_id=original.school_class_id,
        grade_id=original.grade_id,
        stage_band=original.stage_band,
        instruments=codes,
        status=AssignmentStatus.ASSIGNED,
        link_token=secrets.token_urlsafe(24),
        resit_of=original,
        created_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="screening.assignment.resit_assigned",
        obj=resit,
        fields={"original": original.pk, "instruments": codes},
    )
    return resit
