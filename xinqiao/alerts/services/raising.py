"""Raising one alert: a new alert, or a trigger attached to the student's open one (raising its
level and restarting its deadlines when higher), with its audit event and notifications. The
batch raiser (hand_ins.py) shares the builders here."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.holders import owner_for_school, psychology_teachers
from xinqiao.audit.services import record_event
from xinqiao.core.types import Actor
from xinqiao.notifications.models import Notification
from xinqiao.people.models import Student

from .. import hooks
from ..deadlines import SchoolCalendar, deadlines_for
from ..models import LEVEL_RANK, OPEN_STATUSES, Alert, AlertTrigger, Concern, Level, Status
from .notify import _outbox_rows, _queue


def owner_for_student(student: Student) -> Any | None:
    """The owner of a new alert: whoever a hook names (the cases app: the owner of the student's
    open case), else the school's psychology teacher on duty."""
    return hooks.alert_owners_for([student]).get(student.pk) or owner_for_school(student.school_id)


def _alert_subject(alert: Alert, raised: bool) -> str:
    if raised:
        return _("Alert raised to %(level)s: %(student)s") % {
            "level": alert.get_level_display(),
            "student": alert.student.name,
        }
    return _("New %(level)s alert: %(student)s") % {
        "level": alert.get_level_display(),
        "student": alert.student.name,
    }


def _recipients_for_new(alert: Alert, teachers: list[Any] | None = None) -> list[Any]:
    """Who hears of a new or raised alert; `teachers`: the school's psychology teachers, if read."""
    if alert.level != Level.RED and alert.owner:
        return [alert.owner]
    # A red alert must not hang on one person: every psychology teacher of the school.
    return psychology_teachers(alert.school_id) if teachers is None else teachers


def _raise_event(
    alert: Alert,
    *,
    created: bool,
    raised: bool,
    level: str,
    rule: str,
    source: str,
    ruleset: str,
    actor: Actor = None,
) -> dict[str, Any]:
    """The audit event of one trigger (`record_event`'s keyword arguments): the alert raised, or
    the trigger attached to the open one (`raised`: it raised the level)."""
    return {
        "actor": actor,
        "action": "alerts.alert.raised" if created else "alerts.alert.trigger_attached",
        "obj": alert,
        "fields": {
            "student": str(alert.student.code),
            "level": alert.level,
            "trigger_level": level,
            "source": source,
            "rule": rule,
            "ruleset": ruleset,
            "level_raised": raised,
        },
    }


def _raise_notice(
    alert: Alert,
    *,
    created: bool,
    raised: bool,
    now: datetime.datetime,
    teachers: list[Any] | None = None,
) -> list[Notification]:
    """The outbox rows of a new or raised alert (none when a trigger only attached)."""
    if not (created or raised):
        return []
    return _outbox_rows(
        recipients=_recipients_for_new(alert, teachers),
        kind="alert.raised" if created else "alert.level_raised",
        subject=_alert_subject(alert, raised),
        alert=alert,
        now=now,
    )


def _set_deadlines(
    alert: Alert, start: datetime.datetime, calendar: SchoolCalendar | None = None
) -> None:
    d = deadlines_for(alert.level, start, calendar)
    alert.level_since = start
    alert.acknowledge_by = d.acknowledge_by
    alert.verify_by = d.verify_by
    alert.guardian_informed_by = d.guardian_informed_by


def _new_alert(
    *,
    student: Student,
    level: str,
    source: str,
    owner: Any,
    ruleset_version: str,
    entries: list[dict[str, Any]],
    now: datetime.datetime,
    calendar: SchoolCalendar | None = None,
) -> Alert:
    alert = Alert(
        student=student,
        school_id=student.school_id,
        level=level,
        source=source,
        owner=owner,
        ruleset_version=ruleset_version,
        evidence=entries,
        created_at=now,
    )
    _set_deadlines(alert, now, calendar)
    return alert


def _attach(
    alert: Alert,
    *,
    level: str,
    ruleset_version: str,
    entries: list[dict[str, Any]],
    now: datetime.datetime,
    calendar: SchoolCalendar | None = None,
) -> bool:
    """Append `entries` to a locked open alert's evidence and raise its level to `level` when
    higher (new deadlines from now); saved. True when the level was raised."""
    alert.evidence = [*alert.evidence, *entries]
    fields = ["evidence", "updated_at"]
    raised = LEVEL_RANK[level] > LEVEL_RANK[alert.level]
    if raised:
        alert.level = level
        alert.ruleset_version = ruleset_version or alert.ruleset_version
        _set_deadlines(alert, now, calendar)
        fields += [
            "level",
            "ruleset_version",
            "level_since",
            "acknowledge_by",
            "verify_by",
            "guardian_informed_by",
        ]
        if level == Level.RED and alert.status == Status.ACKNOWLEDGED:
            # Red needs its own acknowledgement within the hour (and the +2 h escalation if
            # nobody does): an earlier acknowledgement of a lower level does not count.
            alert.status = Status.NEW
            alert.acknowledged_at = alert.acknowledged_by = None
            fields += ["status", "acknowledged_at", "acknowledged_by"]
    alert.save(update_fields=fields)
    return raised


def _open_or_raise(
    *,
    student: Student,
    level: str,
    source: str,
    ruleset_version: str,
    entries: list[dict[str, Any]],
    now: datetime.datetime,
    calendar: SchoolCalendar | None = None,
) -> tuple[Alert, bool, bool]:
    """The student's open alert, locked, with `entries` appended to its evidence and its level
    raised to `level` when higher; or a new alert. Returns (alert, created, raised)."""
    while True:
        alert = (
            Alert.objects.select_for_update()
            .filter(student=student, status__in=OPEN_STATUSES)
            .first()
        )
        if alert is not None:
            break
        alert = _new_alert(
            student=student,
            level=level,
            source=source,
            owner=owner_for_student(student),
            ruleset_version=ruleset_version,
            entries=entries,
            now=now,
            calendar=calendar,
        )
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:  # a concurrent trigger created it first: attach to that one
            continue
        alert.student = student
        return alert, True, False
    raised = _attach(
        alert,
        level=level,
        ruleset_version=ruleset_version,
        entries=entries,
        now=now,
        calendar=calendar,
    )
    alert.student = student
    return alert, False, raised


@transaction.atomic
def raise_alert(
    *,
    student: Student,
    level: str,
    source: str,
    evidence: dict[str, Any],
    rule: str = "",
    ruleset_version: str = "",
    response_id: int | None = None,
    concern: Concern | None = None,
    actor: Actor = None,
) -> Alert:
    """A new alert, or the student's open alert with this trigger attached (de-duplication).

    Effects in order: lock the open alert (if any); attach the trigger; raise the level and restart
    its deadlines when the new level is higher; write the audit event; queue notifications."""
    now = timezone.now()
    trigger_evidence = {"rule": rule, "level": level, **evidence}
    alert, created, raised = _open_or_raise(
        student=student,
        level=level,
        source=source,
        ruleset_version=ruleset_version,
        entries=[trigger_evidence],
        now=now,
    )
    AlertTrigger.objects.create(
        alert=alert,
        level=level,
        source=source,
        rule=rule,
        ruleset_version=ruleset_version,
        response_id=response_id,
        concern=concern,
        evidence=trigger_evidence,
        at=now,
    )
    record_event(
        **_raise_event(
            alert,
            created=created,
            raised=raised,
            level=level,
            rule=rule,
            source=source,
            ruleset=ruleset_version,
            actor=actor,
        )
    )
    _queue(_raise_notice(alert, created=created, raised=raised, now=now))
    return alert
