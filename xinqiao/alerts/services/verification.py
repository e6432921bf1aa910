"""Acting on an alert: acknowledge it, record the verification interview, mark the guardian
informed."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor, User

from ..models import Alert, Level, Outcome, Status, Verification
from ..signals import send_alert_confirmed
from .raising import _set_deadlines


def _lock(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().select_related("student").get(pk=alert.pk)


@transaction.atomic
def acknowledge_alert(alert: Alert, *, actor: Actor) -> Alert:
    alert = _lock(alert)
    if alert.status != Status.NEW:
        raise DomainError(_("This alert has already been acknowledged."))
    alert.status = Status.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor
    if alert.owner_id is None:
        alert.owner = actor
    alert.save(
        update_fields=["status", "acknowledged_at", "acknowledged_by", "owner", "updated_at"]
    )
    record_event(
        actor=actor,
        action="alerts.alert.acknowledged",
        obj=alert,
        fields={"student": str(alert.student.code), "level": alert.level},
    )
    return alert


@transaction.atomic
def verify_alert(
    alert: Alert,
    *,
    actor: User,
    outcome: str,
    reason: str,
    new_level: str = "",
    guardian_informed: bool = False,
    interviewed_at: datetime.datetime | None = None,
) -> Verification:
    """Record the verification interview. Confirmed or changed: `alert_confirmed` is sent in
    this transaction (the cases app opens or raises a case). Dismissed: the alert closes with
    the reason."""
    alert = _lock(alert)
    if not alert.is_open:
        raise DomainError(_("This alert has already been verified."))
    if outcome not in Outcome.values:
        raise DomainError(_("Choose an outcome."), field="outcome")
    if not reason.strip():
        raise DomainError(_("State the reason for the outcome."), field="reason")
    if outcome == Outcome.CHANGED:
        if new_level not in Level.values or new_level == alert.level:
            raise DomainError(_("Choose the new level."), field="new_level")
    elif outcome == Outcome.CONFIRMED:
        new_level = alert.level
    else:
        new_level = ""
    now = timezone.now()
    interviewed_at = interviewed_at or now
    if interviewed_at > now:
        raise DomainError(_("The interview time cannot be in the future."), field="interviewed_at")
    verification = Verification.objects.create(
        alert=alert,
        interviewer=actor,
        interviewed_at=interviewed_at,
        outcome=outcome,
        previous_level=alert.level,
        new_level=new_level,
        reason=reason.strip(),
        guardian_informed=guardian_informed,
    )
    previous = alert.level
    alert.status = Status.VERIFIED
    alert.outcome = outcome
    alert.verified_at = now
    if new_level and new_level != previous:
        # The level now in force brings its own deadlines, from now: raised to red, the guardian
        # must be informed by the end of this school day (and `red_guardian` escalates if not).
        alert.level = new_level
        _set_deadlines(alert, now)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, actor
    if guardian_informed and alert.guardian_informed_at is None:
        alert.guardian_informed_at = now
    alert.save()
    record_event(
        actor=actor,
        action=f"alerts.alert.{'dismissed' if outcome == Outcome.DISMISSED else 'verified'}",
        obj=alert,
        fields={
            "student": str(alert.student.code),
            "outcome": outcome,
            "previous_level": previous,
            "level": alert.level,
            "guardian_informed": guardian_informed,
        },
    )
    if outcome != Outcome.DISMISSED:
        send_alert_confirmed(alert=alert, level=alert.level, actor=actor)
    return verification


@transaction.atomic
def mark_guardian_informed(
    alert: Alert, *, actor: Actor, at: datetime.datetime | None = None
) -> Alert:
    """Record that the student's guardian has been informed of the alert: the red deadline "inform
    the guardian the same school day" is met and the red_guardian step no longer applies.
    Idempotent (the first time stands). The verification interview sets it too (its "guardian
    informed" box); the cases app calls this when it logs a guardian contact about a red alert."""
    now = timezone.now()
    at = at or now
    if at > now:
        raise DomainError(_("The time cannot be in the future."), field="at")
    alert = Alert.objects.select_for_update(of=("self",)).select_related("student").get(pk=alert.pk)
    if alert.guardian_informed_at is not None:
        return alert
    alert.guardian_informed_at = at
    alert.save(update_fields=["guardian_informed_at", "updated_at"])
    record_event(
        actor=actor,
        action="alerts.alert.guardian_informed",
        obj=alert,
        fields={"student": str(alert.student.code), "level": alert.level, "at": at.isoformat()},
    )
    return alert
