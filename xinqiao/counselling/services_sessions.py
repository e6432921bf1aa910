"""Recording counselling sessions, breaking confidentiality and supervision (docs/counselling.md,
"Sessions and confidentiality", "Supervision")."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User
from xinqiao.notifications.services import notify
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Student

from .models import HOLDING as HOLDING_STATUSES
from .models import (
    Appointment,
    AppointmentStatus,
    BookedAs,
    BreakReason,
    Channel,
    ConcernCode,
    ConfidentialityBreak,
    InterventionCode,
    RiskLevel,
    Session,
    SupervisionRequest,
    SupervisionStatus,
)
from .selectors_sessions import Access, supervisors_for
from .services import _check_unit, _locked, book_appointment


# --- sessions, confidentiality and supervision ----------------------------------------------------
def _clean_codes(values: Any, allowed: list[str], field: str) -> list[str]:
    codes = [str(v) for v in (values or [])]
    if any(c not in allowed for c in codes):
        raise DomainError(_("Choose from the list."), field=field)
    return sorted(set(codes), key=allowed.index)


@transaction.atomic
def record_session(
    *,
    actor: User,
    client_key: str,
    unit: OrgUnit | None = None,
    student: Student | None = None,
    appointment: Appointment | None = None,
    starts_at: datetime.datetime | None = None,
    minutes: int = 50,
    channel: str = Channel.FACE_TO_FACE,
    concerns: list[str] | None = None,
    concern_text: str = "",
    risk_found: bool = False,
    risk_level: str = "",
    interventions: list[str] | None = None,
    plan: str = "",
    summary: str = "",
    notes: str = "",
    next_starts_at: datetime.datetime | None = None,
    next_minutes: int = 50,
) -> Session:
    """Record a session the acting counsellor held. From an appointment: its student, unit,
    start and channel, and the appointment is marked "took place". A next appointment is booked
    through `book_appointment` (the counsellor's own time). A repeated post (the same
    `client_key`) returns the session already recorded."""
    done = Session.objects.filter(counsellor=actor, client_key=client_key).first()
    if done is not None:
        return done
    if appointment is not None:
        appointment = _locked(appointment)
        if appointment.counsellor_id != actor.pk:
            raise DomainError(_("Only the appointment's counsellor records its session."))
        if Session.objects.filter(appointment=appointment).exists():
            raise DomainError(_("This appointment's session is already recorded."))
        if appointment.status not in (*HOLDING_STATUSES, AppointmentStatus.DONE):
            raise DomainError(_("This appointment did not take place."))
        unit, student = appointment.unit, appointment.student
        starts_at = starts_at or appointment.starts_at
        channel = appointment.channel
    if unit is None or student is None or starts_at is None:
        raise DomainError(_("Choose the student."), field="student")
    _check_unit(unit)
    if starts_at > timezone.now():
        raise DomainError(_("A session is recorded once it has taken place."), field="starts_at")
    if channel not in Channel.values:
        raise DomainError(_("Choose a channel."), field="channel")
    if not 5 <= minutes <= 480:
        raise DomainError(_("Between 5 and 480 minutes."), field="minutes")
    if risk_found and risk_level not in RiskLevel.values:
        raise DomainError(_("Choose the level the risk suggests."), field="risk_level")
    if not summary.strip():
        raise DomainError(_("Write a short summary."), field="summary")
    now = timezone.now()
    session = Session(
        unit=unit,
        school_id=student.school_id,
        student=student,
        counsellor=actor,
        appointment=appointment,
        starts_at=starts_at,
        minutes=minutes,
        channel=channel,
        concerns=_clean_codes(concerns, list(ConcernCode.values), "concerns"),
        concern_text=concern_text.strip(),
        risk={"found": bool(risk_found), "level": risk_level if risk_found else ""},
        interventions=_clean_codes(interventions, list(InterventionCode.values), "interventions"),
        plan=plan.strip(),
        summary=summary.strip(),
        notes=notes.strip(),
        client_key=client_key,
        recorded_at=now,
    )
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError:
        raise DomainError(_("This session is already recorded.")) from None
    if appointment is not None and appointment.status != AppointmentStatus.DONE:
        appointment.status = AppointmentStatus.DONE
        appointment.changed_by, appointment.changed_at = actor, now
        appointment.save(update_fields=["status", "changed_by", "changed_at"])
        record_event(
            actor=actor,
            action="counselling.appointment.attended",
            obj=appointment,
            school_id=appointment.school_id,
        )
    record_event(
        actor=actor,
        action="counselling.session.recorded",
        obj=session,
        school_id=session.school_id,
        fields={
            "student": str(student.code),
            "appointment": str(appointment.code) if appointment else None,
            "minutes": minutes,
            "channel": channel,
        },
    )
    if next_starts_at is not None:
        next_channel = channel if channel in (Channel.FACE_TO_FACE, Channel.PHONE) else "phone"
        try:
            session.next_appointment = book_appointment(
                actor=actor,
                booked_as=BookedAs.COUNSELLOR,
                unit=unit,
                student=student,
                counsellor=actor,
                starts_at=next_starts_at,
                ends_at=next_starts_at + datetime.timedelta(minutes=next_minutes),
                channel=next_channel,
            )
        except DomainError as exc:
            raise DomainError(exc.message, field="next_starts_at") from None
        session.save(update_fields=["next_appointment"])
    return session


def _require_author(actor: User, session: Session) -> None:
    if session.counsellor_id != actor.pk:
        raise DomainError(_("Only the session's counsellor can do this."))


@transaction.atomic
def raise_alert_from_session(*, actor: User, session: Session) -> Any:
    """Raise an alert (source: counselling session) at the level the risk check suggests,
    through the alerts app's public raising service: it enters the existing loop with its
    deadline (or joins the student's open alert)."""
    from xinqiao.alerts import services as alert_services
    from xinqiao.alerts.models import Source

    session = Session.objects.select_for_update().select_related("student").get(pk=session.pk)
    _require_author(actor, session)
    if session.alert_id is not None:
        raise DomainError(_("This session has already raised an alert."))
    if not session.risk_found or session.risk_level not in RiskLevel.values:
        raise DomainError(_("The risk check found no risk: there is no level to raise."))
    alert = alert_services.raise_alert(
        student=session.student,
        level=session.risk_level,
        source=Source.COUNSELLING,
        evidence={"session": str(session.code)},
        rule="counselling_session",
        actor=actor,
    )
    session.alert = alert
    session.save(update_fields=["alert"])
    record_event(
        actor=actor,
        action="counselling.session.alert_raised",
        obj=session,
        school_id=session.school_id,
        fields={"alert": alert.pk, "level": session.risk_level},
    )
    return alert


@transaction.atomic
def attach_session_to_case(*, actor: User, session: Session) -> Any:
    """Link the session to the student's open high-care case (the cases app's public model):
    the case team then reads its summary; the notes stay with the author."""
    from xinqiao.cases.models import Case

    session = Session.objects.select_for_update().get(pk=session.pk)
    _require_author(actor, session)
    case = Case.objects.open().filter(student_id=session.student_id).first()
    if case is None:
        raise DomainError(_("The student has no open high-care case."))
    session.case = case
    session.save(update_fields=["case"])
    record_event(
        actor=actor,
        action="counselling.session.attached_to_case",
        obj=session,
        school_id=session.school_id,
        fields={"case": str(case.code)},
    )
    return case


@transaction.atomic
def record_confidentiality_break(
    *,
    actor: User,
    session: Session,
    reason: str,
    reason_text: str,
    disclosed_to: str,
    disclosed_at: datetime.datetime,
) -> ConfidentialityBreak:
    """A decision to break confidentiality (danger to self or others): recorded with its coded
    reason, whom it was disclosed to and when; the school leader is told the fact."""
    from xinqiao.access.holders import users_with_role
    from xinqiao.access.roles import Role

    if reason not in BreakReason.values:
        raise DomainError(_("Choose a reason."), field="reason")
    if not reason_text.strip():
        raise DomainError(_("Say why, in a few words."), field="reason_text")
    if not disclosed_to.strip():
        raise DomainError(_("Say whom it was disclosed to."), field="disclosed_to")
    if disclosed_at > timezone.now() + datetime.timedelta(minutes=5):
        raise DomainError(_("The date cannot be in the future."), field="disclosed_at")
    row = ConfidentialityBreak.objects.create(
        session=session,
        school_id=session.school_id,
        decided_by=actor,
        reason=reason,
        reason_text=reason_text.strip(),
        disclosed_to=disclosed_to.strip()[:300],
        disclosed_at=disclosed_at,
        recorded_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="counselling.confidentiality.broken",
        obj=row,
        school_id=session.school_id,
        fields={"session": str(session.code), "reason": reason},
    )
    leaders = users_with_role(Role.SCHOOL_ADMIN, [session.school_id])
    if leaders:
        notify(
            recipients=leaders,
            kind="counselling.confidentiality.broken",
            subject=_("A decision to break confidentiality was recorded"),
            url=reverse("counselling:confidentiality"),
            ref=row,
        )
    return row


@transaction.atomic
def ask_supervision(
    *,
    actor: User,
    supervisor: Any,
    sessions: list[Session],
    question: str,
    client_key: str,
) -> SupervisionRequest:
    """Ask `supervisor` (one of selectors.supervisors_for(actor)) about one or more of the
    actor's own sessions; the supervisor may then read those sessions' process notes."""

    done = SupervisionRequest.objects.filter(supervisee=actor, client_key=client_key).first()
    if done is not None:
        return done
    if not sessions:
        raise DomainError(_("Choose at least one session."), field="sessions")
    if any(s.counsellor_id != actor.pk for s in sessions):
        raise DomainError(_("Choose sessions you recorded."), field="sessions")
    if supervisor is None or supervisor.pk not in {u.pk for u in supervisors_for(actor)}:
        raise DomainError(_("Choose one of the supervisors offered."), field="supervisor")
    if not question.strip():
        raise DomainError(_("Write your question."), field="question")
    row = SupervisionRequest(
        supervisee=actor,
        supervisor=supervisor,
        question=question.strip(),
        asked_at=timezone.now(),
        client_key=client_key,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise DomainError(_("This request was already sent.")) from None
    row.sessions.set(sessions)
    record_event(
        actor=actor,
        action="counselling.supervision.asked",
        obj=row,
        fields={"supervisor": supervisor.pk, "sessions": [str(s.code) for s in sessions]},
    )
    notify(
        recipients=[supervisor],
        kind="counselling.supervision.asked",
        subject=_("You were asked for supervision"),
        url=reverse("counselling:supervision-detail", kwargs={"code": row.code}),
        ref=row,
    )
    return row


@transaction.atomic
def give_supervision(
    *, actor: User, request: SupervisionRequest, advice: str, actions: str, minutes: int
) -> SupervisionRequest:
    """The supervisor records the advice, the follow-up actions and the time spent (supervision
    hours: given by the supervisor, received by the supervisee)."""
    row = SupervisionRequest.objects.select_for_update().get(pk=request.pk)
    if row.supervisor_id != actor.pk:
        raise DomainError(_("Only the supervisor asked can answer."))
    if row.status == SupervisionStatus.GIVEN:
        raise DomainError(_("The advice is already recorded."))
    if not advice.strip():
        raise DomainError(_("Write the advice."), field="advice")
    if not 5 <= minutes <= 600:
        raise DomainError(_("Between 5 and 600 minutes."), field="minutes")
    row.advice, row.actions, row.minutes = advice.strip(), actions.strip(), minutes
    row.status, row.given_at = SupervisionStatus.GIVEN, timezone.now()
    row.save(update_fields=["advice", "actions", "minutes", "status", "given_at"])
    record_event(
        actor=actor,
        action="counselling.supervision.given",
        obj=row,
        fields={"minutes": minutes, "supervisee": row.supervisee_id},
    )
    notify(
        recipients=[row.supervisee],
        kind="counselling.supervision.given",
        subject=_("Your supervisor answered"),
        url=reverse("counselling:supervision-detail", kwargs={"code": row.code}),
        ref=row,
    )
    return row


def read_session(*, actor: User, session: Session, access: int) -> None:
    """Audit a read of a session: the notes (author, supervisor) or the summary (case team)."""

    notes = access == Access.NOTES
    record_event(
        actor=actor,
        action="counselling.session.notes_read" if notes else "counselling.session.summary_read",
        obj=session,
        school_id=session.school_id,
        fields={"read": ["notes", "summary"] if notes else ["summary"]},
    )
