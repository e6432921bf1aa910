"""Sittings: a class takes the questionnaire together under a short code, for a limited time."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.codes import UNAMBIGUOUS_ALPHABET, random_code
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit

from ..models import Assignment, Campaign, CampaignStatus, Sitting

SITTING_ALPHABET = UNAMBIGUOUS_ALPHABET  # no 0/O, 1/I/L
SITTING_CODE_LENGTH = 6


def _new_sitting_code() -> str:
    return random_code(SITTING_CODE_LENGTH)


def can_run_sitting(actor: Actor, school_class: OrgUnit) -> bool:
    principal = principal_for(actor)
    return principal.sees_unit(school_class, Cap.RUN_SITTINGS)


@transaction.atomic
def open_sitting(
    *, actor: Actor, campaign: Campaign, school_class: OrgUnit, minutes: int = 60
) -> Sitting:
    if school_class.kind != Kind.CLASS:
        raise DomainError(_("A sitting is for one class."))
    if not can_run_sitting(actor, school_class):
        raise DomainError(_("You may not open a sitting for this class."))
    if campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("The campaign is not open."))
    if not Assignment.objects.filter(campaign=campaign, school_class=school_class).exists():
        raise DomainError(_("Nobody in this class takes part in the campaign."))
    now = timezone.now()
    closes_at = min(now + timedelta(minutes=max(5, min(minutes, 240))), campaign.closes_at)
    if closes_at <= now:
        raise DomainError(_("The campaign's window has ended."))
    for _attempt in range(10):
        try:
            with transaction.atomic():
                sitting = Sitting.objects.create(
                    code=_new_sitting_code(),
                    campaign=campaign,
                    school_class=school_class,
                    school_id=school_class.school_id or school_class.pk,
                    opened_by=actor,
                    opened_at=now,
                    closes_at=closes_at,
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - 31^6 codes
        raise DomainError(_("Could not find a free sitting code; try again."))
    record_event(
        actor=actor,
        action="screening.sitting.opened",
        obj=sitting,
        fields={"class": str(school_class.code), "campaign": str(campaign.code)},
    )
    return sitting


@transaction.atomic
def close_sitting(*, actor: Actor, sitting: Sitting) -> Sitting:
    if not can_run_sitting(actor, sitting.school_class):
        raise DomainError(_("You may not close this sitting."))
    if sitting.closed_at is None:
        sitting.closed_at = timezone.now()
        sitting.save(update_fields=["closed_at"])
        record_event(actor=actor, action="screening.sitting.closed", obj=sitting, fields={})
    return sitting
