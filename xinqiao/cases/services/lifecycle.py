"""The case lifecycle: open, attach, raise, reopen (on a verified alert), step down and close.

- `on_alert_confirmed` is connected to `alerts.signals.alert_confirmed`, which is sent INSIDE the
  transaction that verified the alert: the case opens (or is raised) with the verification or not
  at all.
- A step down is one level at a time, asked by the school's psychology teacher
  (`request_step_down`) and approved by the moral-education leader (`decide_step_down`); the
  minimum stays (`policy.MIN_STAY_DAYS` and `selectors.lifecycle.step_down_check`) are checked
  when asked and again when approved. Yellow steps down to closed; a closed case stays in the
  archive and the next verified alert reopens it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access import holders
from xinqiao.access.scope import principal_for
from xinqiao.alerts.models import Alert, Verification
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor, User

from ..models import Case, CaseStatus, ChangeKind, LevelChange, RequestStatus, StepDownRequest
from ..selectors.common import can_handle
from ..selectors.lifecycle import can_approve, level_label, level_rank, step_down_check
from .common import lock_case, notify_case, reschedule_follow_up


class StepDownRefused(DomainError):
    """A step down the minimum stays do not allow yet; `reasons` has one message per unmet rule."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


# --- who ----------------------------------------------------------------------------------------


def _where(case: Case) -> str:
    """The student's class for a notification subject (never a name, level reason or score)."""
    student = case.student
    if student.school_class_id:
        return str(student.school_class.name)  # type: ignore[union-attr]
    return str(case.school.name)


def _still_psychology_teacher(user: Any, school_id: int) -> bool:
    return user is not None and any(u.pk == user.pk for u in holders.psychology_teachers(school_id))


def case_owners_for_students(students: Sequence[Any]) -> dict[int, Any]:
    """Owners of new alerts for students with an open case: the case owner, while they are still
    an active psychology teacher of the student's school (registered in alerts.hooks). One query
    for the cases, one for the teachers, however many students."""
    rows = (
        Case.objects.open()
        .filter(student_id__in=[s.pk for s in students])
        .order_by("student_id", "-opened_at", "-id")
        .values_list("student_id", "school_id", "owner_id")
    )
    case_owner: dict[int, tuple[int, int]] = {}
    schools = {s.pk: s.school_id for s in students}
    for student_id, school_id, owner_id in rows:
        if school_id == schools[student_id]:  # a case left at the old school does not count
            case_owner.setdefault(student_id, (school_id, owner_id))
    if not case_owner:
        return {}
    teachers = holders.psychology_teachers_by_school({s for s, _o in case_owner.values()})
    owners = {}
    for student_id, (school_id, owner_id) in case_owner.items():
        owner = next((u for u in teachers.get(school_id, []) if u.pk == owner_id), None)
        if owner is not None:
            owners[student_id] = owner
    return owners


def on_alert_confirmed(
    sender: Any, *, alert: Alert, level: str, actor: Actor, **kwargs: Any
) -> None:
    """Receiver of `alert_confirmed` (connected in apps.py)."""
    open_or_attach(alert=alert, level=level, actor=actor)


def _verification_reason(alert: Alert) -> str:
    verification = Verification.objects.filter(alert=alert).only("reason").first()
    return verification.reason if verification else ""


def _withdraw_pending(case: Case, now: datetime.datetime) -> int | None:
    """A raised or reopened case voids a pending step-down request (decided by nobody)."""
    pending = case.step_down_requests.filter(status=RequestStatus.PENDING).first()
    if pending is None:
        return None
    pending.status = RequestStatus.REJECTED
    pending.decided_at = now
    pending.save(update_fields=["status", "decided_at"])
    return pending.pk


@transaction.atomic
def open_or_attach(*, alert: Alert, level: str, actor: Actor) -> Case:
    """A verified alert joins the student's case. Effects in order:

    1. the student has an open case → a LevelChange "attached" (alert linked); when the verified
       level is higher, "raised" instead: level and level_since change, a pending step-down
       request is withdrawn and the next follow-up is rescheduled;
    2. else a closed case at the student's school → the newest reopens at the verified level;
    3. else a new case opens: owner = the alert's owner or the verifying psychology teacher,
       school = the student's school;
    then (2, 3) the first follow-up is scheduled; the audit event; notifications (owner and the
    moral-education leaders; an attach tells the owner only) with no clinical detail."""
    now = timezone.now()
    student = alert.student
    case = (
        Case.objects.select_for_update()
        .select_related("student", "school")
        .filter(student_id=student.pk, status=CaseStatus.OPEN)
        .first()
    )
    if case is not None:
        return _attach(case, alert=alert, level=level, actor=actor, now=now)
    closed = (
        Case.objects.select_for_update()
        .select_related("student", "school")
        .filter(student_id=student.pk, status=CaseStatus.CLOSED, school_id=student.school_id)
        .order_by("-closed_at", "-opened_at", "-id")
        .first()
    )
    if closed is not None:
        return _reopen(closed, alert=alert, level=level, actor=actor, now=now)
    case = Case(
        student=student,
        school_id=student.school_id,
        level=level,
        level_since=now,
        owner=alert.owner or actor,
        opened_at=now,
        opened_by=actor,
    )
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:  # a concurrent verification opened it first: attach to that one
        case = lock_case(Case.objects.open().get(student_id=student.pk))
        return _attach(case, alert=alert, level=level, actor=actor, now=now)
    case.student = student
    _record_start(
        case,
        kind=ChangeKind.OPENED,
        action="cases.case.opened",
        alert=alert,
        level=level,
        actor=actor,
        now=now,
    )
    notify_case(
        case=case,
        recipients=[case.owner, *holders.moral_education_leaders(case.school_id)],
        kind="case.opened",
        subject=_("New high-care case in %(class)s") % {"class": _where(case)},
    )
    return case


def _record_start(
    case: Case,
    *,
    kind: str,
    action: str,
    alert: Alert,
    level: str,
    actor: Actor,
    now: datetime.datetime,
    **fields: Any,
) -> None:
    """What opening and reopening a case on a verified alert share: the level-history entry
    (`kind`), the first follow-up scheduled from now, and the audit event `action` naming the
    student, alert, level and owner (plus `fields`)."""
    LevelChange.objects.create(
        case=case,
        kind=kind,
        to_level=level,
        reason=_verification_reason(alert),
        evidence={"alert": str(alert.code)},
        alert=alert,
        changed_by=actor,
        at=now,
    )
    reschedule_follow_up(case, after=now)
    record_event(
        actor=actor,
        action=action,
        obj=case,
        fields={
            "student": str(case.student.code),
            "alert": str(alert.code),
            "level": level,
            "owner": case.owner_id,
            **fields,
        },
    )


def _attach(case: Case, *, alert: Alert, level: str, actor: Actor, now: datetime.datetime) -> Case:
    previous = case.level
    raised = level_rank(level) > level_rank(previous)
    LevelChange.objects.create(
        case=case,
        kind=ChangeKind.RAISED if raised else ChangeKind.ATTACHED,
        from_level=previous,
        to_level=level if raised else previous,
        reason=_verification_reason(alert),
        evidence={"alert": str(alert.code), "verified_level": level},
        alert=alert,
        changed_by=actor,
        at=now,
    )
    fields: dict[str, Any] = {
        "student": str(case.student.code),
        "alert": str(alert.code),
        "verified_level": level,
        "level": previous,
    }
    if not raised:
        record_event(actor=actor, action="cases.case.attached", obj=case, fields=fields)
        notify_case(
            case=case,
            recipients=[case.owner],
            kind="case.alert_attached",
            subject=_("A newly verified alert joined a case in %(class)s")
            % {"class": _where(case)},
        )
        return case
    case.level = level
    case.level_since = now
    case.save(update_fields=["level", "level_since", "updated_at"])
    withdrawn = _withdraw_pending(case, now)
    reschedule_follow_up(case, after=now)
    record_event(
        actor=actor,
        action="cases.case.raised",
        obj=case,
        fields={**fields, "level": [previous, level], "step_down_withdrawn": withdrawn},
    )
    notify_case(
        case=case,
        recipients=[case.owner, *holders.moral_education_leaders(case.school_id)],
        kind="case.raised",
        subject=_("High-care case raised to %(level)s in %(class)s")
        % {"level": level_label(level), "class": _where(case)},
    )
    return case


def _reopen(case: Case, *, alert: Alert, level: str, actor: Actor, now: datetime.datetime) -> Case:
    closed_at = case.closed_at
    if not _still_psychology_teacher(case.owner, case.school_id):
        case.owner = alert.owner or actor
    case.status = CaseStatus.OPEN
    case.level = level
    case.level_since = now
    case.closed_at = None
    case.closed_by = None
    case.save(
        update_fields=[
            "status",
            "level",
            "level_since",
            "owner",
            "closed_at",
            "closed_by",
            "updated_at",
        ]
    )
    _record_start(
        case,
        kind=ChangeKind.REOPENED,
        action="cases.case.reopened",
        alert=alert,
        level=level,
        actor=actor,
        now=now,
        closed_at=closed_at.isoformat() if closed_at else None,
    )
    notify_case(
        case=case,
        recipients=[case.owner, *holders.moral_education_leaders(case.school_id)],
        kind="case.reopened",
        subject=_("High-care case reopened in %(class)s") % {"class": _where(case)},
    )
    return case


# --- step down ----------------------------------------------------------------------------------


@transaction.atomic
def request_step_down(case: Case, *, actor: User, reason: str) -> StepDownRequest:
    """The psychology teacher asks to lower the level one step (yellow: to close the case).

    Effects in order: lock the case; check it is open, the actor handles it, a reason is given
    and no other request waits (a repeat of the actor's own pending request returns it: retry-safe);
    check every minimum-stay rule (StepDownRefused lists each unmet one); create the request;
    audit; notify the moral-education leaders."""
    case = lock_case(case)
    if not case.is_open:
        raise DomainError(_("This case is closed."))
    if not can_handle(principal_for(actor), case):
        raise DomainError(_("Only the school's psychology teacher can ask for a step down."))
    pending = case.step_down_requests.filter(status=RequestStatus.PENDING).first()
    if pending is not None:
        if pending.requested_by_id == actor.pk and pending.from_level == case.level:
            return pending
        raise DomainError(_("A step-down request for this case is already waiting for approval."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("State why the level can step down."), field="reason")
    now = timezone.now()
    check = step_down_check(case, now=now)
    if not check.ok:
        raise StepDownRefused(check.unmet_messages)
    request = StepDownRequest.objects.create(
        case=case,
        from_level=check.from_level,
        to_level=check.to_level,
        reason=reason,
        evidence=check.evidence,
        requested_by=actor,
        requested_at=now,
    )
    record_event(
        actor=actor,
        action="cases.step_down.requested",
        obj=request,
        school_id=case.school_id,
        fields={"case": str(case.code), "from_level": check.from_level, "to_level": check.to_level},
    )
    notify_case(
        case=case,
        recipients=holders.moral_education_leaders(case.school_id),
        kind="case.step_down_requested",
        subject=_("A step-down request waits for your approval (%(class)s)")
        % {"class": _where(case)},
    )
    return request


@transaction.atomic
def decide_step_down(
    request: StepDownRequest, *, actor: User, approve: bool, note: str = ""
) -> StepDownRequest:
    """The moral-education leader approves or rejects a pending step-down request.

    Approve: the minimum stays are checked again (time has passed; a new alert may have raised
    the level meanwhile), then a LevelChange "stepped_down" (or "closed" from yellow) with
    approved_by, the case's level and level_since (or closed_at/closed_by/status), the follow-up
    schedule (none once closed), the audit event. Reject: the request is closed with the note.
    Either way the owner (and the requester) are told."""
    case = lock_case(request.case)
    request = StepDownRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.PENDING:
        raise DomainError(_("This request has already been decided."))
    if not can_approve(principal_for(actor), case):
        raise DomainError(_("Only the school's moral-education leader can decide a step down."))
    if request.requested_by_id == actor.pk:
        raise DomainError(_("You cannot decide your own request."))
    note = (note or "").strip()
    now = timezone.now()
    recipients = [case.owner, request.requested_by]
    if not approve:
        if not note:
            raise DomainError(_("Say why the request is rejected."), field="note")
        request.status = RequestStatus.REJECTED
        request.decided_by = actor
        request.decided_at = now
        request.decision_note = note
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record_event(
            actor=actor,
            action="cases.step_down.rejected",
            obj=request,
            school_id=case.school_id,
            fields={"case": str(case.code), "from_level": request.from_level},
        )
        notify_case(
            case=case,
            recipients=recipients,
            kind="case.step_down_rejected",
            subject=_("Step-down request rejected (%(class)s)") % {"class": _where(case)},
        )
        return request
    if not case.is_open or case.level != request.from_level:
        raise DomainError(
            _(
                "The case's level has changed since the request was made; reject this request "
                "and ask again."
            )
        )
    check = step_down_check(case, now=now)
    if not check.ok:
        raise StepDownRefused(check.unmet_messages)
    closes = check.closes
    LevelChange.objects.create(
        case=case,
        kind=ChangeKind.CLOSED if closes else ChangeKind.STEPPED_DOWN,
        from_level=case.level,
        to_level=check.to_level,
        reason=request.reason,
        evidence={"request": request.pk, **check.evidence},
        changed_by=request.requested_by,
        approved_by=actor,
        at=now,
    )
    previous = case.level
    if closes:
        case.status = CaseStatus.CLOSED
        case.closed_at = now
        case.closed_by = actor
    else:
        case.level = check.to_level
        case.level_since = now
    case.save(
        update_fields=["status", "closed_at", "closed_by", "level", "level_since", "updated_at"]
    )
    reschedule_follow_up(case, after=now)
    request.status = RequestStatus.APPROVED
    request.decided_by = actor
    request.decided_at = now
    request.decision_note = note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    fields = {
        "student": str(case.student.code),
        "request": request.pk,
        "requested_by": request.requested_by_id,
    }
    if closes:
        record_event(
            actor=actor, action="cases.case.closed", obj=case, fields={**fields, "level": previous}
        )
        subject = _("High-care case closed (%(class)s)") % {"class": _where(case)}
    else:
        record_event(
            actor=actor,
            action="cases.case.stepped_down",
            obj=case,
            fields={**fields, "level": [previous, case.level]},
        )
        subject = _("High-care case stepped down to %(level)s (%(class)s)") % {
            "level": level_label(case.level),
            "class": _where(case),
        }
    notify_case(
        case=case,
        recipients=recipients,
        kind="case.closed" if closes else "case.stepped_down",
        subject=subject,
    )
    return request
