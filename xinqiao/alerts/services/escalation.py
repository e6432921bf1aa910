"""Escalation: deadlines missed on an alert reach the next person up (the steps and their order in
docs/alert-rules.md, "Escalation"), each (alert, step) exactly once."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.holders import (
    district_admins,
    moral_education_leaders,
    psychology_teachers,
    station_counsellors,
)
from xinqiao.audit.services import record_event

from ..deadlines import escalation_due, escalation_hours
from ..models import OPEN_STATUSES, Alert, Escalation, EscalationStep, Level, Outcome, Status
from .notify import notify

log = logging.getLogger(__name__)


# The steps (docs/alert-rules.md, "Escalation"): when each applies to an alert and who hears of it.
# `escalation_due_for` is the one test, re-run on the locked alert; the queries in `_candidates`
# only narrow the alerts down to those it may accept.

STEP_ORDER = (
    EscalationStep.RED_LEADER,
    EscalationStep.RED_STATION,
    EscalationStep.RED_GUARDIAN,
    EscalationStep.ORANGE_LEADER,
    EscalationStep.YELLOW_OWNER,
)


@dataclass(frozen=True)
class EscalationDue:
    """A step's deadline (stored as Escalation.due_at). Hour offsets escalate at the moment
    itself; day deadlines (23:59:59 of the day) once they have passed."""

    at: datetime.datetime
    inclusive: bool

    def passed(self, now: datetime.datetime) -> bool:
        return now >= self.at if self.inclusive else now > self.at


def escalation_due_for(alert: Alert, step: str) -> EscalationDue | None:
    """When `step` escalates this alert in its present state; None when the step does not apply.

    red_leader: red and still new (not acknowledged) 2 h after it was raised to red;
    red_station: red and not verified 24 h after it was raised to red;
    red_guardian: red (open, or verified at red) and the guardian not marked informed by the end of
    the school day it was raised; orange_leader / yellow_owner: open past its verify-by."""
    red = alert.level == Level.RED
    if step == EscalationStep.RED_LEADER and red and alert.status == Status.NEW:
        return EscalationDue(escalation_due("red_leader", alert.level_since), inclusive=True)
    if step == EscalationStep.RED_STATION and red and alert.is_open:
        return EscalationDue(escalation_due("red_station", alert.level_since), inclusive=True)
    if (
        step == EscalationStep.RED_GUARDIAN
        and red
        and alert.guardian_informed_by is not None
        and alert.guardian_informed_at is None
        and (alert.is_open or alert.outcome in (Outcome.CONFIRMED, Outcome.CHANGED))
    ):
        return EscalationDue(alert.guardian_informed_by, inclusive=False)
    if step == EscalationStep.ORANGE_LEADER and alert.level == Level.ORANGE and alert.is_open:
        return EscalationDue(alert.verify_by, inclusive=False)
    if step == EscalationStep.YELLOW_OWNER and alert.level == Level.YELLOW and alert.is_open:
        return EscalationDue(alert.verify_by, inclusive=False)
    return None


def _candidates(step: str, now: datetime.datetime) -> Any:
    hours = escalation_hours()
    alerts = Alert.objects.exclude(escalations__step=step)
    open_alerts = alerts.filter(status__in=OPEN_STATUSES)
    if step == EscalationStep.RED_LEADER:
        since = now - datetime.timedelta(hours=hours["red_leader"])
        found = open_alerts.filter(level=Level.RED, status=Status.NEW, level_since__lte=since)
    elif step == EscalationStep.RED_STATION:
        since = now - datetime.timedelta(hours=hours["red_station"])
        found = open_alerts.filter(level=Level.RED, level_since__lte=since)
    elif step == EscalationStep.RED_GUARDIAN:
        found = alerts.filter(
            Q(status__in=OPEN_STATUSES) | Q(outcome__in=[Outcome.CONFIRMED, Outcome.CHANGED]),
            level=Level.RED,
            guardian_informed_at__isnull=True,
            guardian_informed_by__lt=now,
        )
    elif step == EscalationStep.ORANGE_LEADER:
        found = open_alerts.filter(level=Level.ORANGE, verify_by__lt=now)
    else:
        found = open_alerts.filter(level=Level.YELLOW, verify_by__lt=now)
    return found.order_by("id").values_list("pk", flat=True)


def escalation_recipients(alert: Alert, step: str) -> tuple[list[Any], str]:
    """Who hears of `step`, and as what. When nobody holds the role the step goes one level up
    (a missed red alert must reach someone): leader → district station → district administrators;
    owner (yellow reminder) → the school's psychology teachers → leader."""
    school = alert.school_id
    owner = alert.owner if alert.owner is not None and alert.owner.is_active else None
    chain: list[tuple[str, Any]]
    if step == EscalationStep.YELLOW_OWNER:
        chain = [
            ("owner", lambda: [owner] if owner else []),
            ("psychology_teacher", lambda: psychology_teachers(school)),
            ("school_admin", lambda: moral_education_leaders(school)),
        ]
    elif step == EscalationStep.RED_STATION:
        chain = [
            ("station_counsellor", lambda: station_counsellors(school)),
            ("district_admin", lambda: district_admins(school)),
        ]
    else:
        chain = [
            ("school_admin", lambda: moral_education_leaders(school)),
            ("station_counsellor", lambda: station_counsellors(school)),
            ("district_admin", lambda: district_admins(school)),
        ]
    for to, users in chain:
        found = users()
        if found:
            if to != chain[0][0]:
                log.warning(
                    "alerts: %s of alert %s went to %s (nobody in %s)",
                    step,
                    alert.pk,
                    to,
                    chain[0][0],
                )
            return found, to
    return [], ""


def _escalation_subject(alert: Alert, step: str) -> str:
    names = {"level": alert.get_level_display(), "student": alert.student.name}
    if step == EscalationStep.YELLOW_OWNER:
        return _("Reminder: %(level)s alert past its verification deadline: %(student)s") % names
    if step == EscalationStep.RED_GUARDIAN:
        return _("Red alert, guardian not informed by the deadline: %(student)s") % names
    return _("Escalated %(level)s alert, deadline missed: %(student)s") % names


def _escalate(alert_id: int, step: str, now: datetime.datetime) -> bool:
    """One step for one alert, in its own transaction: lock the alert (acknowledging or
    verifying it waits, and so does a concurrent run), re-check the step, record it once
    (unique (alert, step)), audit, queue the notifications. False when nothing was done."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("student", "owner")
            .filter(pk=alert_id)
            .first()
        )
        if alert is None:
            return False
        due = escalation_due_for(alert, step)
        if due is None or not due.passed(now):
            return False  # acknowledged, verified or informed meanwhile, or not yet due
        if Escalation.objects.filter(alert=alert, step=step).exists():
            return False  # another run got there first
        recipients, to = escalation_recipients(alert, step)
        if not recipients:
            # Not recorded, so the next run tries again once someone holds a role.
            log.error("alerts: nobody to escalate alert %s to (%s)", alert.pk, step)
            return False
        recipient_ids = [u.pk for u in recipients]
        try:
            with transaction.atomic():
                Escalation.objects.create(
                    alert=alert,
                    school_id=alert.school_id,
                    step=step,
                    due_at=due.at,
                    escalated_at=now,
                    recipients=recipient_ids,
                )
        except IntegrityError:
            return False  # already escalated (a run without the row lock, e.g. on SQLite)
        record_event(
            actor=None,
            action="alerts.alert.escalated",
            obj=alert,
            fields={"step": step, "level": alert.level, "to": to, "recipients": recipient_ids},
        )
        notify(
            recipients=recipients,
            kind=f"alert.escalated.{step}",
            subject=_escalation_subject(alert, step),
            alert=alert,
        )
    return True


def run_escalations(*, now: datetime.datetime | None = None) -> int:
    """Escalate every alert whose deadline has passed (steps: STEP_ORDER); the number escalated.

    Idempotent and safe to run concurrently (celery beat, the embedded scheduler, the management
    command, several workers at once): each (alert, step) happens exactly once, each in its own
    transaction with its audit event and outbox rows, so one failure holds nothing else back and is
    retried on the next run."""
    now = now or timezone.now()
    done = 0
    for step in STEP_ORDER:
        for alert_id in list(_candidates(step, now)):
            try:
                done += _escalate(alert_id, step, now)
            except Exception:
                log.exception("alerts: escalating alert %s (%s) failed", alert_id, step)
    return done
