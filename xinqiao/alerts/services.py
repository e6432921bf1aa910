"""Writes of the alerts app: raise (from rules or concerns), acknowledge, verify, escalate, notify.

Every function runs in one transaction and writes its audit event in it. Notifications are rows
of the notifications outbox written in the same transaction as the alert: a crash after commit
loses nothing, the dispatcher (xinqiao.notifications) delivers them later, at least once, and the
inbox shows each once. Likewise a hand-in whose rules fire is queued in its own
transaction (`PendingSubmission`) and its alert raised in batches by the worker
(tasks.raise_pending_alerts), or at once in the embedded default.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.audit.services import record_event, record_events
from xinqiao.core.errors import DomainError
from xinqiao.core.queue import kick_soon
from xinqiao.instruments.definition import UnknownInstrumentError, get_definition
from xinqiao.notifications import services as notifications
from xinqiao.notifications.models import Notification as Outbox  # the name the raising code uses
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student

from . import hooks
from . import rules as rules_mod
from .deadlines import SchoolCalendar, deadlines_for, escalation_due, escalation_hours
from .models import (
    LEVEL_RANK,
    OPEN_STATUSES,
    URGENCY_LEVEL,
    Alert,
    AlertTrigger,
    Concern,
    Escalation,
    EscalationStep,
    Level,
    Outcome,
    PendingSubmission,
    RuleSet,
    Source,
    Status,
    Verification,
)
from .signals import send_alert_confirmed

log = logging.getLogger(__name__)

LEVEL_WORD = {Level.RED: "red", Level.ORANGE: "orange", Level.YELLOW: "yellow"}


# --- who --------------------------------------------------------------------------------------


def _role_assignments(role: str, unit_ids: Iterable[int]) -> Any:
    return (
        RoleAssignment.objects.active()
        .filter(role=role, org_unit_id__in=list(unit_ids), user__is_active=True)
        .select_related("user")
        .order_by("id")
    )


def _users_with_role(role: str, units: Iterable[OrgUnit | int]) -> list[Any]:
    ids = [u.pk if isinstance(u, OrgUnit) else u for u in units]
    users: dict[int, Any] = {}  # each user once, in the order of their first role assignment
    for assignment in _role_assignments(role, ids):
        users.setdefault(assignment.user_id, assignment.user)
    return list(users.values())


def _users_with_role_by_unit(role: str, unit_ids: Iterable[int]) -> dict[int, list[Any]]:
    """{unit id: the users `_users_with_role(role, [unit])` gives} for several units at once."""
    by_unit: dict[int, dict[int, Any]] = {}
    for assignment in _role_assignments(role, unit_ids):
        by_unit.setdefault(assignment.org_unit_id, {}).setdefault(
            assignment.user_id, assignment.user
        )
    return {unit: list(users.values()) for unit, users in by_unit.items()}


def psychology_teachers(school_id: int) -> list[Any]:
    return _users_with_role(Role.PSYCHOLOGY_TEACHER, [school_id])


def psychology_teachers_by_school(school_ids: Iterable[int]) -> dict[int, list[Any]]:
    return _users_with_role_by_unit(Role.PSYCHOLOGY_TEACHER, school_ids)


def owner_for_school(school_id: int) -> Any | None:
    """The psychology teacher on duty. No duty roster exists yet (the counseling app will add
    DutyShift): until then the first active psychology teacher of the school."""
    teachers = psychology_teachers(school_id)
    return teachers[0] if teachers else None


def owner_for_student(student: Student) -> Any | None:
    """The owner of a new alert: whoever a hook names (the cases app: the owner of the student's
    open case), else the school's psychology teacher on duty."""
    return hooks.alert_owners_for([student]).get(student.pk) or owner_for_school(student.school_id)


def moral_education_leaders(school_id: int) -> list[Any]:
    return _users_with_role(Role.SCHOOL_ADMIN, [school_id])


def station_counsellors(school_id: int) -> list[Any]:
    school = OrgUnit.objects.select_related("parent").get(pk=school_id)
    district = school.parent
    while district is not None and district.kind != Kind.DISTRICT:
        district = district.parent
    if district is None:
        return []
    stations = OrgUnit.objects.filter(parent=district, kind=Kind.STATION)
    return _users_with_role(Role.STATION_COUNSELLOR, stations)


# --- notifications ----------------------------------------------------------------------------
# The store, the dispatcher and the inbox live in xinqiao.notifications; these wrappers let an
# alert be the message's reference and its link.


def _outbox_rows(
    *,
    recipients: Iterable[Any],
    kind: str,
    subject: str,
    body: str = "",
    alert: Alert | None,
    url: str = "",
    now: datetime.datetime,
) -> list[Outbox]:
    """One unsaved message per recipient (each once). The link goes to `url`, else to the alert."""
    if not url and alert is not None:
        url = reverse("alerts:alert-detail", kwargs={"code": alert.code})
    return notifications.outbox_rows(
        recipients=recipients, kind=kind, subject=subject, body=body, url=url, ref=alert, now=now
    )


_queue = notifications.queue


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    subject: str,
    body: str = "",
    alert: Alert | None,
    url: str = "",
) -> int:
    """Queue one message per recipient in the current transaction (the outbox). The link goes
    to `url`, else to the alert."""
    return _queue(
        _outbox_rows(
            recipients=recipients,
            kind=kind,
            subject=subject,
            body=body,
            alert=alert,
            url=url,
            now=timezone.now(),
        )
    )


# --- raising ----------------------------------------------------------------------------------


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
    actor: Any = None,
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
) -> list[Outbox]:
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
    actor: Any = None,
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


def _definition_item_ids(code: str, version: str) -> tuple[tuple[str, ...], frozenset[str]]:
    try:
        defn = get_definition(code, version)
    except UnknownInstrumentError:
        from xinqiao.instruments.selectors import definition_for

        defn = definition_for(code, version)
    return tuple(defn.item_ids), frozenset(i.id for i in defn.items if i.critical_min is not None)


def facts_of(responses: Sequence[Any], age: Any) -> rules_mod.Facts:
    instruments = {}
    for r in responses:
        item_ids, critical_ids = _definition_item_ids(r.instrument_code, r.instrument_version)
        answers = list(r.answers or [])
        items = {i: (answers[n] if n < len(answers) else None) for n, i in enumerate(item_ids)}
        instruments[r.instrument_code] = rules_mod.InstrumentFacts(
            code=r.instrument_code,
            items=items,
            scores=dict(r.scores or {}),
            missing=frozenset(r.missing or []),
            critical_ids=critical_ids,
            valid=bool(r.valid),
            response_id=r.pk,
        )
    return rules_mod.Facts(instruments, age)


def _age_on(birth: datetime.date | None, day: datetime.date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _raise_inline() -> bool:
    """Raise a hand-in's alert inside the hand-in (embedded default, eager Celery) rather than in
    the worker (production)."""
    return bool(getattr(settings, "ALERTS_RAISE_INLINE", settings.CELERY_TASK_ALWAYS_EAGER))


def _student_age(student_id: int) -> int | None:
    birth = Student.objects.filter(pk=student_id).values_list("birth_date", flat=True).first()
    return _age_on(birth, timezone.localdate())


def evaluate_submission(
    *,
    assignment_id: int,
    student_id: int,
    school_id: int,
    stage_band: str,
    responses: Sequence[Any],
) -> list[Alert]:
    """Called by screening inside the transaction that stores a submission's responses.

    Pure Python while no rule fires (the common case costs no query once the rule-set cache is
    warm). When rules fire, or wait for a re-sit: in production the hand-in is queued
    (`PendingSubmission`, in this transaction: it commits with the responses or not at all) for
    the worker's `raise_pending_alerts`, within seconds, together with the other hand-ins of the
    moment (returns []); in the embedded default the same `_raise_hand_ins` raises its alert here
    (returns it)."""
    active = rules_mod.ruleset_for(school_id=school_id, stage=stage_band)
    outcome = rules_mod.evaluate(
        active.definition, facts_of(responses, lambda: _student_age(student_id))
    )
    if not outcome.hits and not outcome.held:
        return []
    hand_in = PendingSubmission(
        assignment_id=assignment_id,
        student_id=student_id,
        school_id=school_id,
        stage_band=stage_band,
        queued_at=timezone.now(),
    )
    if not _raise_inline():
        hand_in.save(force_insert=True)
        transaction.on_commit(_kick_raiser)
        return []
    if any(r.pk is None for r in responses):  # stored without RETURNING: read the ids back
        from xinqiao.screening.models import Response

        ids = dict(
            Response.objects.filter(assignment_id=assignment_id).values_list(
                "instrument_code", "pk"
            )
        )
        for r in responses:
            r.pk = ids[r.instrument_code]
    raised = _raise_hand_ins([hand_in], {assignment_id: list(responses)})
    return [alert for alert in raised.values() if alert is not None]


def _kick_raiser() -> None:
    from .tasks import raise_pending_alerts as task

    kick_soon(task)


# (level, rule, evidence, response id, rule set label)
Trigger = tuple[str, str, dict[str, Any], int | None, str]


def _triggers_of(
    assignment_id: int, responses: Sequence[Any], hits: Any, label: str
) -> list[Trigger]:
    by_code = {r.instrument_code: r for r in responses}
    triggers: list[Trigger] = []
    for hit in hits:
        evidence = {
            "kind": hit.kind,
            "assignment": assignment_id,
            "instruments": [
                {
                    "code": code,
                    "response": by_code[code].pk,
                    "scores": by_code[code].scores,
                    "critical": by_code[code].critical,
                    "missing": by_code[code].missing,
                    "valid": by_code[code].valid,
                }
                for code in hit.instruments
                if code in by_code
            ],
        }
        first = by_code.get(hit.instruments[0]) if hit.instruments else None
        triggers.append((hit.level, hit.rule, evidence, first.pk if first else None, label))
    return triggers


BATCH_SIZE = 200


@transaction.atomic
def raise_pending_alerts(
    *, assignment_ids: Sequence[int] | None = None, limit: int = BATCH_SIZE
) -> dict[int, Alert | None]:
    """Raise the alerts of queued hand-ins (`PendingSubmission`), up to `limit` in one
    transaction; {assignment id: its alert, or None when its rules only asked for a re-sit}.

    Each hand-in's rules are evaluated again on its stored responses, whose ids the evidence
    names. Rows another worker holds are skipped (SKIP LOCKED), so several workers share the
    queue; a queue row is deleted in the transaction that raises its alert, so a worker killed
    midway leaves it queued, never half raised. The statements per call are the same for one
    hand-in or two hundred: the queue, the responses, the students, their open alerts (locked),
    the owners of new alerts, the term calendar, one INSERT each for new alerts, triggers, outbox
    and audit events, and the queue's DELETE; an alert already open is updated by its own UPDATE."""
    from xinqiao.screening.models import Response

    queue = PendingSubmission.objects.select_for_update(skip_locked=True).order_by("assignment_id")
    if assignment_ids is not None:
        queue = queue.filter(assignment_id__in=assignment_ids)
    pending = list(queue[:limit])
    if not pending:
        return {}
    ids = [p.assignment_id for p in pending]
    responses: dict[int, list[Any]] = {}
    for r in (
        Response.objects.filter(assignment_id__in=ids)
        .only(*RESPONSE_FIELDS)
        .order_by("assignment_id", "id")
    ):
        responses.setdefault(r.assignment_id, []).append(r)
    PendingSubmission.objects.filter(assignment_id__in=ids).delete()
    return _raise_hand_ins(pending, responses)


def _raise_hand_ins(
    hand_ins: Sequence[PendingSubmission], responses: dict[int, list[Any]]
) -> dict[int, Alert | None]:
    """Evaluate each hand-in's rules on its stored `responses` ({assignment id: responses}) and
    raise what fires — one alert per student — and ask for the re-sits that held rules wait for;
    {assignment id: its alert, or None}."""
    students = Student.objects.only("id", "code", "name", "birth_date", "school_id").in_bulk(
        {h.student_id for h in hand_ins}
    )
    today = timezone.localdate()
    wanted: dict[int, list[Trigger]] = {}
    fired, held = set(), []
    for h in hand_ins:
        student = students.get(h.student_id)
        if student is None:  # deleted since (its responses with it): nothing left to raise
            continue
        active = rules_mod.ruleset_for(school_id=h.school_id, stage=h.stage_band)
        handed_in = responses.get(h.assignment_id, [])
        outcome = rules_mod.evaluate(
            active.definition,
            facts_of(handed_in, lambda s=student: _age_on(s.birth_date, today)),
        )
        if outcome.hits:
            fired.add(h.assignment_id)
            wanted.setdefault(student.pk, []).extend(
                _triggers_of(h.assignment_id, handed_in, outcome.hits, active.label)
            )
        if outcome.held:
            held.append((h.assignment_id, student, outcome.held))
    alerts = _raise_many(wanted, students)
    for assignment_id, student, rules in held:
        _request_resit(assignment_id=assignment_id, student=student, held=rules)
    return {
        h.assignment_id: alerts[h.student_id] if h.assignment_id in fired else None
        for h in hand_ins
    }


def raise_all_pending_alerts() -> int:
    """`raise_pending_alerts` batch after batch until the queue is empty; the number of hand-ins.

    A batch that fails is retried hand-in by hand-in, so one hand-in that cannot be raised (logged
    with its error, left queued for the next run) never holds back the alerts of the others."""
    done = 0
    while True:
        try:
            batch = len(raise_pending_alerts())
        except Exception:
            log.exception("alerts: a batch of queued hand-ins failed; raising them one by one")
            return done + _raise_one_by_one()
        done += batch
        if batch < BATCH_SIZE:
            return done


def _raise_one_by_one() -> int:
    done = 0
    for assignment_id in PendingSubmission.objects.values_list("assignment_id", flat=True):
        try:
            done += len(raise_pending_alerts(assignment_ids=[assignment_id]))
        except Exception:
            log.exception("alerts: the alert of hand-in %s could not be raised", assignment_id)
    return done


RESPONSE_FIELDS = (
    "id",
    "assignment_id",
    "instrument_code",
    "instrument_version",
    "answers",
    "scores",
    "critical",
    "missing",
    "valid",
)


def _raise_many(wanted: dict[int, list[Trigger]], students: dict[int, Student]) -> dict[int, Alert]:
    """`raise_alert` for every trigger in `wanted` ({student id: triggers}), in one go: per
    student, the same alert, triggers, audit events (one per trigger, highest level first) and
    notification as one `raise_alert` call per trigger, but in a fixed number of statements."""
    if not wanted:
        return {}
    now = timezone.now()
    calendar = SchoolCalendar()
    source = Source.SCREENING
    entries: dict[int, list[dict[str, Any]]] = {}
    for student_id, triggers in wanted.items():
        # Highest level first, so the alert is created at its final level and notified once.
        triggers.sort(key=lambda t: -LEVEL_RANK[t[0]])
        entries[student_id] = [{"rule": t[1], "level": t[0], **t[2]} for t in triggers]
    teachers = psychology_teachers_by_school({students[pk].school_id for pk in wanted})
    outcome: dict[int, tuple[Alert, bool, bool]] = {}
    for alert in (
        Alert.objects.select_for_update()
        .filter(student_id__in=list(wanted), status__in=OPEN_STATUSES)
        .order_by("student_id")  # one lock order for every worker: no deadlock
    ):
        alert.student = students[alert.student_id]
        top = wanted[alert.student_id][0]
        raised = _attach(
            alert,
            level=top[0],
            ruleset_version=top[4],
            entries=entries[alert.student_id],
            now=now,
            calendar=calendar,
        )
        outcome[alert.student_id] = (alert, False, raised)
    # In student order too: two workers inserting the same students wait on the unique index in
    # the same order, never on each other.
    new_ids = sorted(pk for pk in wanted if pk not in outcome)
    if new_ids:
        owners = hooks.alert_owners_for([students[pk] for pk in new_ids])
        new = [
            _new_alert(
                student=students[pk],
                level=wanted[pk][0][0],
                source=source,
                owner=owners.get(pk) or next(iter(teachers.get(students[pk].school_id, [])), None),
                ruleset_version=wanted[pk][0][4],
                entries=entries[pk],
                now=now,
                calendar=calendar,
            )
            for pk in new_ids
        ]
        try:
            with transaction.atomic():
                Alert.objects.bulk_create(new)
            outcome.update({alert.student_id: (alert, True, False) for alert in new})
        except IntegrityError:  # a concern opened one of them meanwhile: one by one, as raise_alert
            for pk in new_ids:
                outcome[pk] = _open_or_raise(
                    student=students[pk],
                    level=wanted[pk][0][0],
                    source=source,
                    ruleset_version=wanted[pk][0][4],
                    entries=entries[pk],
                    now=now,
                    calendar=calendar,
                )
    rows, outbox, events = [], [], []
    for student_id, (alert, created, raised) in outcome.items():
        for n, ((level, rule, _ev, response_id, label), entry) in enumerate(
            zip(wanted[student_id], entries[student_id], strict=True)
        ):
            rows.append(
                AlertTrigger(
                    alert=alert,
                    level=level,
                    source=source,
                    rule=rule,
                    ruleset_version=label,
                    response_id=response_id,
                    evidence=entry,
                    at=now,
                )
            )
            events.append(
                _raise_event(
                    alert,
                    created=created and n == 0,
                    raised=raised and n == 0,
                    level=level,
                    rule=rule,
                    source=source,
                    ruleset=label,
                )
            )
        outbox += _raise_notice(
            alert,
            created=created,
            raised=raised,
            now=now,
            teachers=teachers.get(alert.school_id, []),
        )
    AlertTrigger.objects.bulk_create(rows)
    _queue(outbox)
    record_events(events)  # last: the audit append locks the chain until the commit
    return {student_id: alert for student_id, (alert, _c, _r) in outcome.items()}


def _request_resit(*, assignment_id: int, student: Student, held: Sequence[Any]) -> None:
    """Score rules on an invalid questionnaire wait: ask screening for a re-sit instead."""
    from xinqiao.screening import services as screening_services
    from xinqiao.screening.models import Assignment

    resit = None
    owner = owner_for_school(student.school_id)
    assign = getattr(screening_services, "assign_resit", None)
    if assign is not None and owner is not None:
        try:
            with transaction.atomic():
                resit = assign(actor=owner, assignment=Assignment.objects.get(pk=assignment_id))
        except DomainError as exc:
            log.info("alerts: re-sit not assigned for assignment %s: %s", assignment_id, exc)
    record_event(
        actor=None,
        action="alerts.rules.held_for_resit",
        object_type="screening.assignment",
        object_id=assignment_id,
        school_id=student.school_id,
        fields={
            "student": str(student.code),
            "rules": [h.rule for h in held],
            "resit": resit.pk if resit else None,
        },
    )


# --- concerns ---------------------------------------------------------------------------------

ROLE_SOURCE: dict[str, Source] = {
    Role.HEAD_TEACHER: Source.HEAD_TEACHER,
    Role.MENTOR: Source.MENTOR,
    Role.COMMITTEE_MEMBER: Source.COMMITTEE_MEMBER,
    Role.PARENT: Source.PARENT,
    Role.PSYCHOLOGY_TEACHER: Source.COUNSELLING,
}


@transaction.atomic
def file_concern(
    *,
    actor: Any,
    student: Student,
    what_seen: str,
    seen_on: datetime.date,
    urgency: str,
) -> Concern:
    """A human report. It raises (or attaches to) an alert at the level its urgency implies:
    a current plan, attempt or means is red."""
    from xinqiao.access.scope import principal_for

    from .selectors import concern_students

    principal = principal_for(actor)
    if not concern_students(principal=principal).filter(pk=student.pk).exists():
        raise DomainError(_("You cannot report about this student."))
    if not what_seen.strip():
        raise DomainError(_("Please describe what you saw or heard."), field="what_seen")
    if seen_on > timezone.localdate():
        raise DomainError(_("The date cannot be in the future."), field="seen_on")
    role = next((r for r in principal.roles if r in ROLE_SOURCE), "")
    source = ROLE_SOURCE.get(role, Source.OTHER)
    concern = Concern.objects.create(
        student=student,
        school_id=student.school_id,
        reporter=actor,
        source=source,
        what_seen=what_seen.strip(),
        seen_on=seen_on,
        urgency=urgency,
        created_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="alerts.concern.filed",
        obj=concern,
        fields={"student": str(student.code), "urgency": urgency},
    )
    alert = raise_alert(
        student=student,
        level=URGENCY_LEVEL[urgency],
        source=source,
        evidence={"concern": str(concern.code), "urgency": urgency},
        rule=f"concern.{urgency}",
        concern=concern,
        actor=actor,
    )
    concern.alert = alert
    concern.save(update_fields=["alert"])
    return concern


# --- acting on an alert -----------------------------------------------------------------------


def _lock(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().select_related("student").get(pk=alert.pk)


@transaction.atomic
def acknowledge_alert(alert: Alert, *, actor: Any) -> Alert:
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
    actor: Any,
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
    if new_level:
        alert.level = new_level
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


# --- escalation -------------------------------------------------------------------------------
#
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


def _district_admins(school_id: int) -> list[Any]:
    districts = OrgUnit.objects.get(pk=school_id).ancestors().filter(kind=Kind.DISTRICT)
    return _users_with_role(Role.DISTRICT_ADMIN, list(districts))


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
            ("district_admin", lambda: _district_admins(school)),
        ]
    else:
        chain = [
            ("school_admin", lambda: moral_education_leaders(school)),
            ("station_counsellor", lambda: station_counsellors(school)),
            ("district_admin", lambda: _district_admins(school)),
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


@transaction.atomic
def mark_guardian_informed(
    alert: Alert, *, actor: Any, at: datetime.datetime | None = None
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


# --- rule sets --------------------------------------------------------------------------------


def can_edit_rules_for(actor: Any, unit: OrgUnit) -> bool:
    from xinqiao.access.roles import Cap
    from xinqiao.access.scope import principal_for

    return unit.kind in (Kind.CITY, Kind.DISTRICT) and principal_for(actor).sees_unit(
        unit, Cap.EDIT_RULESETS
    )


@transaction.atomic
def save_ruleset(*, actor: Any, unit: OrgUnit, stage: str, source: str, note: str = "") -> RuleSet:
    """A new version of the rules for `unit` (city or district) and `stage` ("" = every stage)."""
    from xinqiao.screening.models import StageBand

    if not can_edit_rules_for(actor, unit):
        raise DomainError(_("You cannot change the rules for this unit."))
    if stage and stage not in StageBand.values:
        raise DomainError(_("Unknown school stage."), field="stage")
    definition = rules_mod.parse_rules(source)
    last = (
        RuleSet.objects.select_for_update()
        .filter(unit=unit, stage=stage)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    ruleset = RuleSet.objects.create(
        unit=unit,
        stage=stage,
        version=(last or 0) + 1,
        definition=definition,
        source=source,
        note=note,
        created_by=actor,
    )
    record_event(
        actor=actor,
        action="alerts.ruleset.saved",
        obj=ruleset,
        object_type="alerts.ruleset",
        school_id=None,
        fields={"unit": str(unit.code), "stage": stage, "version": ruleset.version, "note": note},
    )
    rules_mod.cache.clear()
    transaction.on_commit(rules_mod.cache.clear)
    return ruleset
