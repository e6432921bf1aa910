"""Suspension and return to school (休学 / 复学, R10).

A suspension is recorded on the student's case by the school's psychology teacher with the reason,
the dates and the medical documents; the student's status becomes `suspended` in the same
transaction (through the people app's `update_student`, which also lets open screening campaigns
set the student's assignments apart). A return needs three pieces — a medical opinion (text and
document), the psychology teacher's return assessment and a return plan — and brings the student
back to `enrolled`, with a follow-up due right after the return.

Both are retry-safe: the form carries a `client_key`, and a repeated key returns the change the
first submit recorded.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access import holders
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User
from xinqiao.people import services as people_services
from xinqiao.people.models import Student, StudentStatus

from ..documents import save_document
from ..models import Case, CaseDocument, DocumentKind, SchoolingChange, SchoolingChangeKind
from ..selectors.common import require_handle
from .common import clean_client_key, existing_row, lock_case, notify_case


class ReturnIncomplete(DomainError):
    """A return was refused because pieces are missing; `missing` maps each form field to the
    message that names the missing piece."""

    def __init__(self, missing: dict[str, str]) -> None:
        super().__init__(" ".join(missing.values()), field=next(iter(missing)))
        self.missing = missing


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day`, Beijing time."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _save_documents(
    *, case: Case, kind: str, uploads: Iterable[Any], actor: User, field: str
) -> list[CaseDocument]:
    docs: list[CaseDocument] = []
    for upload in uploads:
        try:
            docs.append(save_document(case=case, kind=kind, upload=upload, actor=actor))
        except DomainError as exc:
            raise DomainError(exc.message, field=field) from None
    return docs


def _lock_student(case: Case) -> Student:
    return Student.objects.select_for_update().get(pk=case.student_id)


@transaction.atomic
def suspend_student(
    case: Case,
    *,
    actor: User,
    reason: str,
    effective_on: datetime.date | None,
    client_key: str,
    expected_until: datetime.date | None = None,
    documents: Sequence[Any] = (),
) -> SchoolingChange:
    """Record a suspension. Effects, in order: lock the case; check the school's psychology
    teacher; return the suspension already recorded with this `client_key` (a double submit);
    checks (an open case, the student enrolled, reason, dates, at least one medical document); the
    documents are stored encrypted; the `SchoolingChange`; the student's status → suspended; the
    school's moral-education leaders are told; audit `cases.suspension.recorded`."""
    client_key = clean_client_key(client_key)
    case = lock_case(case)
    require_handle(principal_for(actor), case)
    kind = SchoolingChangeKind.SUSPENSION
    if (row := existing_row(SchoolingChange, client_key, case_id=case.pk, kind=kind)) is not None:
        return row
    student = _lock_student(case)
    if student.status == StudentStatus.SUSPENDED:
        raise DomainError(_("The student is already suspended."))
    if student.status != StudentStatus.ENROLLED:
        raise DomainError(_("Only an enrolled student can be suspended."))
    if not case.is_open:
        raise DomainError(_("Suspensions are recorded on an open case."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("State the reason for the suspension."), field="reason")
    if effective_on is None:
        raise DomainError(_("Give the date the suspension starts."), field="effective_on")
    if expected_until is not None and expected_until <= effective_on:
        raise DomainError(
            _("The expected end must come after the start of the suspension."),
            field="expected_until",
        )
    uploads = [u for u in documents if u is not None]
    if not uploads:
        raise DomainError(
            _("Attach the medical documents (for example the hospital's diagnosis)."),
            field="documents",
        )
    docs = _save_documents(
        case=case, kind=DocumentKind.MEDICAL, uploads=uploads, actor=actor, field="documents"
    )
    change = SchoolingChange.objects.create(
        case=case,
        student=student,
        kind=SchoolingChangeKind.SUSPENSION,
        effective_on=effective_on,
        expected_until=expected_until,
        reason=reason,
        recorded_by=actor,
        recorded_at=timezone.now(),
        client_key=client_key,
    )
    change.documents.set(docs)
    people_services.update_student(actor=actor, student=student, status=StudentStatus.SUSPENDED)
    notify_case(
        case=case,
        recipients=holders.moral_education_leaders(case.school_id),
        kind="case.suspended",
        subject=_("A student with a high-care case was suspended from school"),
    )
    record_event(
        actor=actor,
        action="cases.suspension.recorded",
        obj=change,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "effective_on": effective_on.isoformat(),
            "expected_until": expected_until.isoformat() if expected_until else None,
            "documents": len(docs),
        },
    )
    return change


@transaction.atomic
def return_student(
    case: Case,
    *,
    actor: User,
    returned_on: datetime.date | None,
    medical_opinion: str,
    opinion_documents: Sequence[Any] = (),
    return_assessment: str,
    return_plan: str,
    client_key: str,
) -> SchoolingChange:
    """Record a return to school. A repeat of this `client_key` (a double submit) returns the
    return already recorded. Refused, naming every missing piece, without the medical opinion (its
    text and at least one document), the psychology teacher's return assessment and the return
    plan. Effects: the documents stored; the `SchoolingChange`; the student's status → enrolled;
    the next follow-up due by the end of the first day back (or sooner if already due); the
    moral-education leaders told; audit `cases.return.recorded`."""
    client_key = clean_client_key(client_key)
    case = lock_case(case)
    require_handle(principal_for(actor), case)
    kind = SchoolingChangeKind.RETURN
    if (row := existing_row(SchoolingChange, client_key, case_id=case.pk, kind=kind)) is not None:
        return row
    student = _lock_student(case)
    if student.status != StudentStatus.SUSPENDED:
        raise DomainError(_("The student is not suspended, so there is no return to record."))
    suspension = (
        SchoolingChange.objects.filter(student=student, kind=SchoolingChangeKind.SUSPENSION)
        .order_by("-effective_on", "-id")
        .first()
    )
    missing: dict[str, str] = {}
    medical_opinion = (medical_opinion or "").strip()
    uploads = [u for u in opinion_documents if u is not None]
    if not medical_opinion:
        missing["medical_opinion"] = _(
            "A return needs the medical opinion: write down what the doctor advised."
        )
    if not uploads:
        missing["opinion_documents"] = _(
            "A return needs the medical opinion as a document: attach the doctor's certificate."
        )
    if not (return_assessment or "").strip():
        missing["return_assessment"] = _(
            "A return needs your return assessment as the psychology teacher."
        )
    if not (return_plan or "").strip():
        missing["return_plan"] = _("A return needs a return plan (support in the first weeks).")
    if returned_on is None:
        missing["returned_on"] = _("Give the date the student returns.")
    if missing or returned_on is None:
        raise ReturnIncomplete(missing)
    if suspension is not None and returned_on < suspension.effective_on:
        raise DomainError(
            _("The return cannot come before the suspension started (%(day)s).")
            % {"day": suspension.effective_on.isoformat()},
            field="returned_on",
        )
    docs = _save_documents(
        case=case,
        kind=DocumentKind.MEDICAL_OPINION,
        uploads=uploads,
        actor=actor,
        field="opinion_documents",
    )
    change = SchoolingChange.objects.create(
        case=case,
        student=student,
        kind=SchoolingChangeKind.RETURN,
        effective_on=returned_on,
        medical_opinion=medical_opinion,
        return_assessment=return_assessment.strip(),
        return_plan=return_plan.strip(),
        recorded_by=actor,
        recorded_at=timezone.now(),
        client_key=client_key,
    )
    change.documents.set(docs)
    people_services.update_student(actor=actor, student=student, status=StudentStatus.ENROLLED)
    follow_up_due = None
    if case.is_open:
        # A follow-up right after the return: by the end of the first day back, or sooner if
        # one is already due before that.
        first_day_back = _start_of(returned_on + datetime.timedelta(days=1))
        if case.next_follow_up_due is None or case.next_follow_up_due > first_day_back:
            case.next_follow_up_due = first_day_back
            case.save(update_fields=["next_follow_up_due", "updated_at"])
        follow_up_due = case.next_follow_up_due
    notify_case(
        case=case,
        recipients=holders.moral_education_leaders(case.school_id),
        kind="case.returned",
        subject=_("A student with a high-care case is returning to school"),
    )
    record_event(
        actor=actor,
        action="cases.return.recorded",
        obj=change,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "returned_on": returned_on.isoformat(),
            "documents": len(docs),
            "suspension": suspension.pk if suspension else None,
            "next_follow_up_due": follow_up_due.isoformat() if follow_up_due else None,
        },
    )
    return change
