"""Alerts from hand-ins: screening calls `evaluate_submission` inside the transaction that stores a
submission; a hand-in whose rules fire is queued in it (`PendingSubmission`) and its alert raised
in batches by the worker (tasks.raise_pending_alerts), or at once in the embedded default."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from xinqiao.access.holders import psychology_teachers_by_school
from xinqiao.audit.services import record_event, record_events
from xinqiao.core.errors import DomainError
from xinqiao.core.queue import kick_soon
from xinqiao.instruments.definition import UnknownInstrumentError, get_definition
from xinqiao.people.models import Student

from .. import hooks
from .. import rules as rules_mod
from ..deadlines import SchoolCalendar
from ..models import LEVEL_RANK, OPEN_STATUSES, Alert, AlertTrigger, PendingSubmission, Source
from .notify import _queue
from .raising import (
    _attach,
    _new_alert,
    _open_or_raise,
    _raise_event,
    _raise_notice,
    owner_for_student,
)

log = logging.getLogger(__name__)


def _definition(code: str, version: str) -> Any:
    try:
        return get_definition(code, version)
    except UnknownInstrumentError:
        from xinqiao.instruments.selectors import definition_for

        return definition_for(code, version)


def facts_of(responses: Sequence[Any], age: Any) -> rules_mod.Facts:
    instruments = {}
    for r in responses:
        defn = _definition(r.instrument_code, r.instrument_version)
        answers = list(r.answers or [])
        items = {i: (answers[n] if n < len(answers) else None) for n, i in enumerate(defn.item_ids)}
        instruments[r.instrument_code] = rules_mod.InstrumentFacts(
            code=r.instrument_code,
            items=items,
            scores=dict(r.scores or {}),
            missing=frozenset(r.missing or []),
            critical_ids=frozenset(i.id for i in defn.items if i.critical_min is not None),
            valid=bool(r.valid),
            response_id=r.pk,
            tags=defn.tagged_items,
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
    from ..tasks import raise_pending_alerts as task

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


def note_voided_hand_in(
    *, actor: Any, assignment_id: int, school_id: int, response_ids: Sequence[int]
) -> int:
    """A psychology teacher voided a hand-in (screening.services.void_hand_in, same transaction).

    Alerts already raised from it stay as they are — a voided hand-in may still be the student's
    own, and only the verification interview may dismiss an alert — each gets an audit event on
    its own record and its page says which trigger came from the voided hand-in
    (selectors._describe_items). A hand-in still queued is taken off the queue: from the void on,
    its answers raise nothing. The number of alerts noted."""
    PendingSubmission.objects.filter(assignment_id=assignment_id).delete()
    alerts = list(
        Alert.objects.filter(triggers__response_id__in=list(response_ids))
        .distinct()
        .only("pk", "status", "level", "school_id")
    )
    for alert in alerts:
        record_event(
            actor=actor,
            action="alerts.alert.hand_in_voided",
            obj=alert,
            school_id=alert.school_id,
            fields={"assignment": assignment_id, "status": alert.status, "level": alert.level},
        )
    return len(alerts)


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
    "client_key",  # the row key the encrypted fields open with
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
    owner = owner_for_student(student)  # through the hooks: case owner, counsellor on duty
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
