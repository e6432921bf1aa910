"""Referrals through the green channel (绿色通道, R9/R25): writes.

The path of a referral: sent (by the case's psychology teacher) → received → seen (by the
psychiatrist, with the date) → feedback (diagnosis category optional, advice for the school,
next review). The psychology teacher may cancel an open referral (sent, received, seen) with a
reason. A hospital without accounts answers on paper: the psychology teacher then records the
letter's feedback (`record_paper_feedback`), which counts exactly like the psychiatrist's. Each step
is one transaction with its audit event; steps out of order are refused.

Legal basis (PIPL art. 23 and art. 13(4)): a referral passes the student's health information to a
hospital, so it needs the guardian's *separate* consent — a signed consent uploaded with the
referral, or a guardian contact of this case whose recorded consent ("given") the teacher chooses
explicitly — or the emergency basis with its reason written down.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor, User
from xinqiao.notifications import services as notifications
from xinqiao.orgs.models import OrgUnit

from .. import documents
from ..models import (
    CancelReason,
    Case,
    ConsentAnswer,
    ConsentBasis,
    DiagnosisCategory,
    DocumentKind,
    FeedbackSource,
    GuardianContact,
    Referral,
    ReferralStatus,
)
from ..selectors import referrals as selectors
from ..selectors.common import can_handle
from .common import clean_client_key, existing_row, lock_case, notify_case, reschedule_follow_up

REASON_MAX = 4000
ADVICE_MAX = 4000


def _lock(referral: Referral) -> Referral:
    """Lock the case, then the referral (always in this order), and re-read both."""
    case = lock_case(referral.case)
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    locked.case = case
    return locked


def _event(*, actor: Actor, action: str, referral: Referral, fields: dict[str, Any]) -> None:
    record_event(
        actor=actor,
        action=action,
        obj=referral,
        school_id=referral.case.school_id,
        fields={"case": str(referral.case.code), **fields},
    )


def _referral_url(referral: Referral) -> str:
    return reverse("cases:referral-detail", kwargs={"code": referral.code})


def _hospital_recipients(referral: Referral) -> list[Any]:
    if referral.psychiatrist is not None:
        return [referral.psychiatrist]
    return selectors.psychiatrists_at(referral.hospital)


def _require_psychiatrist(referral: Referral, actor: Actor, *, may_take: bool = False) -> None:
    principal = principal_for(actor)
    if not selectors.is_psychiatrist_for(principal, referral):
        if selectors.works_at(principal, referral.hospital) and (
            referral.status != ReferralStatus.CANCELLED
        ):
            # Taken by a colleague a moment ago (the page was open in two browsers).
            raise DomainError(_("Another psychiatrist of the hospital has taken this referral."))
        raise PermissionDenied
    if referral.psychiatrist_id is None and not may_take:
        raise DomainError(_("Take the referral first: mark it as received."))


# --- the psychology teacher ---------------------------------------------------------------------
@transaction.atomic
def refer(
    case: Case,
    *,
    actor: User,
    hospital: OrgUnit,
    psychiatrist: Any = None,
    reason: str,
    consent_basis: str,
    consent_document: Any = None,
    consent_contact: GuardianContact | None = None,
    emergency_reason: str = "",
    client_key: str,
) -> Referral:
    """Refer the case's student to a partner hospital.

    Effects, in order: lock the case; return the referral already made with this `client_key`
    (a retried submit) unchanged; check the actor runs the case, the case is open and has no open
    referral, the hospital (and psychiatrist) are in the case's directory and the legal basis
    holds; store the uploaded consent (encrypted); create the referral; audit
    `cases.referral.sent`; notify the psychiatrist (or every psychiatrist of the hospital) with no
    clinical detail in the subject.
    """
    client_key = clean_client_key(client_key)
    case = lock_case(case)
    if not can_handle(principal_for(actor), case):
        raise PermissionDenied
    if (existing := existing_row(Referral, client_key, case_id=case.pk)) is not None:
        return existing
    if not case.is_open:
        raise DomainError(_("The case is closed: reopen it before referring the student."))
    if selectors.open_referral(case) is not None:
        raise DomainError(
            _(
                "This student already has an open referral. Wait for its feedback or cancel it "
                "before sending another."
            )
        )
    if hospital is None or not selectors.hospitals_for(case).filter(pk=hospital.pk).exists():
        raise DomainError(_("Choose a partner hospital from the directory."), field="hospital")
    if psychiatrist is not None and all(
        u.pk != psychiatrist.pk for u in selectors.psychiatrists_at(hospital)
    ):
        raise DomainError(
            _("This psychiatrist does not work at the chosen hospital."), field="hospital"
        )
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the student is referred."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("The reason is too long."), field="reason")
    emergency_reason = (emergency_reason or "").strip()
    if consent_basis == ConsentBasis.GUARDIAN_CONSENT:
        if consent_contact is not None and (
            consent_contact.case_id != case.pk or consent_contact.consent != ConsentAnswer.GIVEN
        ):
            raise DomainError(
                _("Choose a guardian contact of this case in which the guardian gave consent."),
                field="consent_contact",
            )
        if consent_document is None and consent_contact is None:
            raise DomainError(
                _(
                    "A referral needs the guardian's separate consent: upload the signed consent "
                    "or choose the guardian contact in which consent to this referral was given."
                ),
                field="consent_basis",
            )
        emergency_reason = ""
    elif consent_basis == ConsentBasis.EMERGENCY:
        if not emergency_reason:
            raise DomainError(
                _("Write down the emergency: why the guardian's consent could not wait."),
                field="emergency_reason",
            )
        if consent_contact is not None and consent_contact.case_id != case.pk:
            raise DomainError(_("Choose a guardian contact of this case."), field="consent_contact")
    else:
        raise DomainError(_("Choose the legal basis of the referral."), field="consent_basis")

    document = None
    if consent_document is not None:
        document = documents.save_document(
            case=case, kind=DocumentKind.REFERRAL_CONSENT, upload=consent_document, actor=actor
        )
    referral = Referral.objects.create(
        case=case,
        student=case.student,
        hospital=hospital,
        psychiatrist=psychiatrist,
        reason=reason,
        consent_basis=consent_basis,
        consent_document=document,
        consent_contact=consent_contact,
        emergency_reason=emergency_reason,
        sent_by=actor,
        sent_at=timezone.now(),
        client_key=client_key,
    )
    _event(
        actor=actor,
        action="cases.referral.sent",
        referral=referral,
        fields={
            "hospital": hospital.pk,
            "psychiatrist": psychiatrist.pk if psychiatrist is not None else None,
            "consent_basis": consent_basis,
            "consent_document": str(document.code) if document else None,
            "consent_contact": consent_contact.pk if consent_contact else None,
        },
    )
    notifications.notify(
        recipients=_hospital_recipients(referral),
        kind="case.referral.sent",
        subject=_("New referral from %(school)s") % {"school": case.school.name},
        ref=referral,
        url=_referral_url(referral),
    )
    return referral


@transaction.atomic
def cancel_referral(referral: Referral, *, actor: Actor, reason: str) -> Referral:
    """Withdraw an open referral (sent, received or seen) for a CancelReason. The hospital is told
    (no clinical detail)."""
    referral = _lock(referral)
    if not can_handle(principal_for(actor), referral.case):
        raise PermissionDenied
    if reason not in CancelReason.values:
        raise DomainError(_("Choose why the referral is cancelled."), field="reason")
    if referral.status == ReferralStatus.CANCELLED:
        raise DomainError(_("This referral is already cancelled."))
    if referral.status == ReferralStatus.FEEDBACK:
        raise DomainError(
            _("The hospital has already given feedback: it can no longer be cancelled.")
        )
    recipients = _hospital_recipients(referral)
    before = referral.status
    referral.status = ReferralStatus.CANCELLED
    referral.cancelled_at, referral.cancelled_by = timezone.now(), actor
    referral.cancel_reason = reason
    referral.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    _event(
        actor=actor,
        action="cases.referral.cancelled",
        referral=referral,
        fields={"status": [before, ReferralStatus.CANCELLED], "reason": reason},
    )
    notifications.notify(
        recipients=recipients,
        kind="case.referral.cancelled",
        subject=_("A referral from %(school)s was withdrawn")
        % {"school": referral.case.school.name},
        ref=referral,
        url=reverse("cases:referral-inbox"),
    )
    return referral


# --- the psychiatrist ----------------------------------------------------------------------------
@transaction.atomic
def mark_received(referral: Referral, *, actor: Actor) -> Referral:
    """The hospital has the referral. A referral that names no psychiatrist is taken by the one
    who marks it received (the hospital's other psychiatrists no longer see it)."""
    referral = _lock(referral)
    _require_psychiatrist(referral, actor, may_take=True)
    if referral.status != ReferralStatus.SENT:
        raise DomainError(_("This referral has already been marked as received."))
    taken = referral.psychiatrist_id is None
    referral.status = ReferralStatus.RECEIVED
    referral.received_at = timezone.now()
    if taken:
        referral.psychiatrist = actor
    referral.save(update_fields=["status", "received_at", "psychiatrist"])
    _event(
        actor=actor,
        action="cases.referral.received",
        referral=referral,
        fields={"status": [ReferralStatus.SENT, ReferralStatus.RECEIVED], "taken": taken},
    )
    return referral


def _check_seen_on(referral: Referral, seen_on: datetime.date | None) -> datetime.date:
    """The date of the visit: given, not in the future, not before the referral was sent."""
    if seen_on is None:
        raise DomainError(_("Enter the date of the visit."), field="seen_on")
    if seen_on > timezone.localdate():
        raise DomainError(_("The date of the visit cannot be in the future."), field="seen_on")
    if seen_on < timezone.localtime(referral.sent_at).date():
        raise DomainError(
            _("The date of the visit cannot be before the referral was sent."), field="seen_on"
        )
    return seen_on


def _seen_at(day: datetime.date) -> datetime.datetime:
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


@transaction.atomic
def mark_seen(referral: Referral, *, actor: Actor, seen_on: datetime.date) -> Referral:
    """The psychiatrist saw the student on `seen_on` (not in the future, not before the referral
    was sent)."""
    referral = _lock(referral)
    _require_psychiatrist(referral, actor)
    if referral.status == ReferralStatus.SENT:
        raise DomainError(_("Mark the referral as received first."))
    if referral.status != ReferralStatus.RECEIVED:
        raise DomainError(_("The visit has already been recorded."))
    _check_seen_on(referral, seen_on)
    referral.status = ReferralStatus.SEEN
    referral.seen_at = _seen_at(seen_on)
    referral.save(update_fields=["status", "seen_at"])
    _event(
        actor=actor,
        action="cases.referral.seen",
        referral=referral,
        fields={"status": [ReferralStatus.RECEIVED, ReferralStatus.SEEN], "seen_on": seen_on},
    )
    return referral


@transaction.atomic
def give_feedback(
    referral: Referral,
    *,
    actor: Actor,
    diagnosis_category: str = "",
    advice_for_school: str,
    next_review_on: datetime.date | None = None,
) -> Referral:
    """Structured feedback after the visit. Effects: status → feedback; audit
    `cases.referral.feedback_given` (no clinical text); the case's next follow-up is recomputed
    (a red case goes from daily to weekly once the referral is done); the owner is notified."""
    referral = _lock(referral)
    _require_psychiatrist(referral, actor)
    if referral.status in (ReferralStatus.SENT, ReferralStatus.RECEIVED):
        raise DomainError(_("Record the visit (the date the student was seen) first."))
    if referral.status != ReferralStatus.SEEN:
        raise DomainError(_("Feedback has already been given for this referral."))
    diagnosis_category, advice_for_school = _clean_feedback(
        diagnosis_category, advice_for_school, next_review_on
    )
    _store_feedback(
        referral,
        actor=actor,
        source=FeedbackSource.PSYCHIATRIST,
        diagnosis_category=diagnosis_category,
        advice_for_school=advice_for_school,
        next_review_on=next_review_on,
    )
    _event(
        actor=actor,
        action="cases.referral.feedback_given",
        referral=referral,
        fields={
            "status": [ReferralStatus.SEEN, ReferralStatus.FEEDBACK],
            "diagnosis_stated": bool(diagnosis_category),
            "next_review_on": next_review_on,
        },
    )
    _feedback_follows(referral)
    return referral


# --- the psychology teacher, for a hospital that answers on paper --------------------------------
@transaction.atomic
def record_paper_feedback(
    referral: Referral,
    *,
    actor: User,
    seen_on: datetime.date | None,
    diagnosis_category: str = "",
    advice_for_school: str,
    next_review_on: datetime.date | None = None,
    letter: Any,
    client_key: str,
) -> Referral:
    """The case's psychology teacher records the feedback a hospital sent on paper (a letter /
    就诊反馈单), with the scanned letter. It counts exactly like the psychiatrist's feedback.

    Effects, in order: lock the case and the referral; check the actor runs the case; return the
    referral unchanged when this form's `client_key` already recorded it (a double submit); check
    the referral is open (sent, received or seen); check the date of the visit (unless the
    psychiatrist already recorded it) and the feedback as `give_feedback` does; store the letter
    (encrypted); status → feedback, `feedback_source` paper, `feedback_by` the teacher; audit
    `cases.referral.feedback_recorded` (no clinical text); then the follow-up schedule and the
    owner's notification as for the psychiatrist's feedback.
    """
    client_key = clean_client_key(client_key)
    referral = _lock(referral)
    if not can_handle(principal_for(actor), referral.case):
        raise PermissionDenied
    # The key lives on the locked referral: a concurrent repeat waits, then finds it here.
    if referral.feedback_client_key == client_key:
        return referral
    if referral.status == ReferralStatus.CANCELLED:
        raise DomainError(_("This referral is already cancelled."))
    if referral.status == ReferralStatus.FEEDBACK:
        raise DomainError(_("Feedback has already been given for this referral."))
    before = referral.status
    seen_day = None  # a visit the psychiatrist already recorded stays as it is
    if referral.seen_at is None:
        seen_day = _check_seen_on(referral, seen_on)
    diagnosis_category, advice_for_school = _clean_feedback(
        diagnosis_category, advice_for_school, next_review_on
    )
    if letter is None:
        raise DomainError(_("Upload the scan or photo of the hospital's letter."), field="letter")
    document = documents.save_document(
        case=referral.case, kind=DocumentKind.REFERRAL_FEEDBACK, upload=letter, actor=actor
    )
    extra = ["feedback_letter", "feedback_client_key"]
    if seen_day is not None:
        referral.seen_at = _seen_at(seen_day)
        extra.append("seen_at")
    referral.feedback_letter = document
    referral.feedback_client_key = client_key
    _store_feedback(
        referral,
        actor=actor,
        source=FeedbackSource.PAPER,
        diagnosis_category=diagnosis_category,
        advice_for_school=advice_for_school,
        next_review_on=next_review_on,
        extra_fields=extra,
    )
    _event(
        actor=actor,
        action="cases.referral.feedback_recorded",
        referral=referral,
        fields={
            "status": [before, ReferralStatus.FEEDBACK],
            "source": FeedbackSource.PAPER,
            "seen_on": seen_day,
            "letter": str(document.code),
            "diagnosis_stated": bool(diagnosis_category),
            "next_review_on": next_review_on,
        },
    )
    _feedback_follows(referral)
    return referral


# --- feedback, whoever records it --------------------------------------------------------------
def _clean_feedback(
    diagnosis_category: str, advice_for_school: str, next_review_on: datetime.date | None
) -> tuple[str, str]:
    """The checks every feedback passes; returns (diagnosis_category, advice_for_school) cleaned."""
    diagnosis_category = diagnosis_category or ""
    if diagnosis_category not in DiagnosisCategory.values:
        raise DomainError(
            _("Choose a diagnosis category from the list."), field="diagnosis_category"
        )
    advice_for_school = (advice_for_school or "").strip()
    if not advice_for_school:
        raise DomainError(
            _("Write your advice for the school (what to do, what to watch for)."),
            field="advice_for_school",
        )
    if len(advice_for_school) > ADVICE_MAX:
        raise DomainError(_("The advice is too long."), field="advice_for_school")
    if next_review_on is not None and next_review_on < timezone.localdate():
        raise DomainError(_("The next review cannot be in the past."), field="next_review_on")
    return diagnosis_category, advice_for_school


def _store_feedback(
    referral: Referral,
    *,
    actor: Actor,
    source: str,
    diagnosis_category: str,
    advice_for_school: str,
    next_review_on: datetime.date | None,
    extra_fields: list[str] | None = None,
) -> None:
    referral.status = ReferralStatus.FEEDBACK
    referral.feedback_at = timezone.now()
    referral.feedback_by = actor
    referral.feedback_source = source
    referral.diagnosis_category = diagnosis_category
    referral.advice_for_school = advice_for_school
    referral.next_review_on = next_review_on
    referral.save(
        update_fields=[
            "status",
            "feedback_at",
            "feedback_by",
            "feedback_source",
            "diagnosis_category",
            "advice_for_school",
            "next_review_on",
            *(extra_fields or []),
        ]
    )


def _feedback_follows(referral: Referral) -> None:
    """What feedback sets off: the case's next follow-up is recomputed (a red case goes from daily
    to weekly once the referral is done) and the owner is told, with no clinical detail."""
    case = referral.case
    if case.is_open:
        reschedule_follow_up(case, after=_schedule_anchor(case))
    class_name = case.student.school_class.name if case.student.school_class else ""
    notify_case(
        case=case,
        recipients=[case.owner],
        kind="case.referral.feedback",
        subject=_("Hospital feedback on a referral (%(class)s)") % {"class": class_name},
    )


def _schedule_anchor(case: Case) -> datetime.datetime:
    """From when the next follow-up counts: the last follow-up, or the last level change."""
    last = case.follow_ups.order_by("-done_at").values_list("done_at", flat=True).first()
    return max(d for d in (last, case.level_since) if d is not None)
