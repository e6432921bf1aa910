"""Voiding a hand-in (作废): a psychology teacher sets aside a questionnaire that may not be the
student's own (someone else used their code: several browsers signed in, answers at odds with what
the teacher knows) and gives the student a re-sit.

What a void does, in one transaction (docs/taking.md, "A suspicious hand-in"):
- the assignment becomes `void`; it and its responses are kept, never deleted, with who voided it,
  when, and why (`VoidedHandIn`, the reason encrypted and bound to the assignment);
- from then on its responses are left out of results, band counts, aggregates, the student's
  score trend, the case step-down's re-screen and alert evaluation (a hand-in still queued for the
  alert worker is taken off the queue);
- alerts already raised from it stay: an alert is closed only by a verification interview, and a
  voided hand-in may still have been the student's own words; the alerts app notes the void on
  each (hooks.run_void_hooks);
- the student gets a re-sit with a personal make-up link (or keeps the re-sit already waiting);
- audit events: `screening.hand_in.voided` (never the reason's text), the re-sit's
  `screening.assignment.resit_assigned`, and `alerts.alert.hand_in_voided` per alert.

Voiding the same hand-in again (a double submit, two teachers at once) changes nothing and
returns the first void.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User

from ..hooks import run_void_hooks
from ..models import (
    Assignment,
    AssignmentStatus,
    CampaignStatus,
    Response,
    VoidedHandIn,
)
from .absences import _require_assignment_manager, assign_resit

REASON_MAX = 500
HANDED_IN = (AssignmentStatus.COMPLETED, AssignmentStatus.INVALID)


@dataclass(frozen=True)
class Voided:
    voiding: VoidedHandIn
    first_time: bool  # False: it was voided already (a double submit), nothing changed


@transaction.atomic
def void_hand_in(*, actor: User, assignment: Assignment, reason: str) -> Voided:
    """Void a handed-in `assignment` (its original or a re-sit) and give the student a re-sit."""
    _require_assignment_manager(actor, assignment)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for voiding this hand-in."))
    if len(reason) > REASON_MAX:
        raise DomainError(
            _("The reason is too long (at most %(n)d characters).") % {"n": REASON_MAX}
        )
    locked = (
        Assignment.objects.select_for_update()
        .select_related("campaign", "student")
        .get(pk=assignment.pk)
    )
    if locked.status == AssignmentStatus.VOID:  # a double submit waited on the lock above
        return Voided(VoidedHandIn.objects.select_related("resit").get(assignment=locked), False)
    if locked.status not in HANDED_IN:
        raise DomainError(_("Only a handed-in questionnaire can be voided."))
    if locked.campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("The campaign is not open."))
    previous = locked.status
    locked.status = AssignmentStatus.VOID
    locked.session_nonce = None  # the browser that handed it in is signed out of it
    locked.save(update_fields=["status", "session_nonce"])
    first = locked.resit_of or locked
    waiting = (
        Assignment.objects.filter(
            resit_of=first, status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED]
        )
        .order_by("-id")
        .first()
    )
    resit = waiting or assign_resit(
        actor=actor, assignment=locked, instruments=list(locked.instruments or ())
    )
    voiding = VoidedHandIn.objects.create(
        assignment=locked,
        previous_status=previous,
        reason=reason,
        voided_by=actor,
        voided_at=timezone.now(),
        resit=resit,
    )
    response_ids = list(Response.objects.filter(assignment=locked).values_list("pk", flat=True))
    alerts = run_void_hooks(
        actor=actor,
        assignment_id=locked.pk,
        school_id=locked.school_id,
        response_ids=response_ids,
    )
    record_event(
        actor=actor,
        action="screening.hand_in.voided",
        obj=locked,
        school_id=locked.school_id,
        fields={
            "student": str(locked.student.code),
            "previous_status": previous,
            "responses": len(response_ids),
            "resit": resit.pk,
            "alerts_kept": alerts,
        },
    )
    return Voided(voiding, True)
