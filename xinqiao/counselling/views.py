"""Counselling pages: the service's home, a unit's roster with who is on duty now, the roster's
forms, a counsellor's availability, booking, the calendar and its iCalendar feed, an
appointment's page and its changes. Thin: selectors read through the access layer, services
write and audit."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_list_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import OrgUnit

from . import (
    calendar_feed,
    selectors,
    selectors_groups,
    selectors_sessions,
    services,
    services_sessions,
    workload,
)
from .forms import (
    AvailabilityForm,
    BookingForm,
    BreakForm,
    CancelForm,
    CounsellorBookingForm,
    DutyExceptionForm,
    DutySlotForm,
    RescheduleForm,
    RoomForm,
    RoomHoursForm,
    SessionForm,
    SettingsForm,
    SupervisionAdviceForm,
    SupervisionAskForm,
    WaitlistForm,
)
from .models import COUNSELLING_UNIT_KINDS, BookedAs, Weekday

Errors = (DomainError, ValidationError)


def _form_page(
    request: HttpRequest, form: Any, *, title: str, back: str, unit: OrgUnit | None = None
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "back": back, "unit": unit}
    return render(request, "counselling/form.html", context, status=status)


# --- home and a unit's roster ---------------------------------------------------------------
@requires(Cap.VIEW_COUNSELLING)
def home(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.units_in_scope(principal)
    context = {
        "units": units[:100],
        "more_units": units.count() > 100,
        "upcoming": selectors.upcoming(principal),
        "can_counsel": principal.can(Cap.COUNSEL),
        "can_book": principal.can(Cap.BOOK_COUNSELLING),
        "is_leader": bool(selectors_sessions.leader_schools(principal)),
        "answers_hotline": bool(selectors_groups.hotline_units(principal)),
        "can_see_workload": principal.can(Cap.VIEW_WORKLOAD),
        "can_help": principal.can(Cap.RESPOND_TO_HELP),
    }
    return render(request, "counselling/home.html", context)


@requires(Cap.VIEW_COUNSELLING)
def unit_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    unit = selectors.get_unit(principal=principal, code=code)
    slots = selectors.roster(unit)
    week = [(day, [s for s in slots if s.weekday == day]) for day, _label in Weekday.choices]
    context = {
        "unit": unit,
        "on_duty": selectors.on_duty(unit),
        "week": [(Weekday(day).label, rows) for day, rows in week],
        "has_slots": bool(slots),
        "exceptions": selectors.upcoming_exceptions(unit, since=timezone.localdate()),
        "rooms": selectors.rooms_of(unit, active_only=False),
        "confirms": selectors.confirms_bookings(unit),
        "can_manage": selectors.manages(principal, unit),
        "can_see_workload": principal.sees_unit(unit, Cap.VIEW_WORKLOAD),
        "student_entry": reverse("counselling:school-entry", kwargs={"code": unit.code})
        if unit.kind == "school"
        else "",
    }
    return render(request, "counselling/unit.html", context)


def _managed_unit(request: PrincipalRequest, code: Any) -> OrgUnit:
    return selectors.get_unit(principal=request.principal, code=code, cap=Cap.MANAGE_DUTY_ROSTER)


@requires(Cap.MANAGE_DUTY_ROSTER)
@require_http_methods(["GET", "POST"])
def duty_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = _managed_unit(request, code)
    form = DutySlotForm(
        request.POST or None,
        counsellors=selectors.counsellors_of(unit),
        rooms=selectors.rooms_of(unit),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.add_duty_slot(actor=request.user, unit=unit, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The duty was added to the roster."))
            return redirect("counselling:unit", code=unit.code)
    return _form_page(request, form, title=_("Add a duty"), back=_unit_url(unit), unit=unit)


def _unit_url(unit: OrgUnit) -> str:
    return reverse("counselling:unit", kwargs={"code": unit.code})


@requires(Cap.MANAGE_DUTY_ROSTER)
@require_POST
def duty_remove(request: PrincipalRequest, code: Any) -> HttpResponse:
    slot = selectors.get_duty_slot(principal=request.principal, code=code)
    services.remove_duty_slot(actor=request.user, slot=slot)
    messages.success(request, _("The duty was taken off the roster."))
    return redirect("counselling:unit", code=slot.unit.code)


@requires(Cap.MANAGE_DUTY_ROSTER)
@require_http_methods(["GET", "POST"])
def exception_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = _managed_unit(request, code)
    form = DutyExceptionForm(
        request.POST or None,
        counsellors=selectors.counsellors_of(unit),
        slots=selectors.slots_of(unit),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.add_duty_exception(actor=request.user, unit=unit, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The change to the roster was recorded."))
            return redirect("counselling:unit", code=unit.code)
    title = _("Holiday, closure or substitute")
    return _form_page(request, form, title=title, back=_unit_url(unit), unit=unit)


@requires(Cap.MANAGE_DUTY_ROSTER)
@require_POST
def exception_remove(request: PrincipalRequest, code: Any) -> HttpResponse:
    exception = selectors.get_duty_exception(principal=request.principal, code=code)
    services.remove_duty_exception(actor=request.user, exception=exception)
    messages.success(request, _("The change to the roster was removed."))
    return redirect("counselling:unit", code=exception.unit.code)


@requires(Cap.MANAGE_DUTY_ROSTER)
@require_http_methods(["GET", "POST"])
def room_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = _managed_unit(request, code)
    form = RoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_room(actor=request.user, unit=unit, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The room was added."))
            return redirect("counselling:unit", code=unit.code)
    return _form_page(request, form, title=_("Add a room"), back=_unit_url(unit), unit=unit)


@requires(Cap.MANAGE_DUTY_ROSTER)
@require_http_methods(["GET", "POST"])
def unit_settings(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = _managed_unit(request, code)
    initial = {"confirm_bookings": selectors.confirms_bookings(unit)}
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.set_confirmation(actor=request.user, unit=unit, **form.cleaned_data)
        messages.success(request, _("The settings were saved."))
        return redirect("counselling:unit", code=unit.code)
    title = _("Booking settings")
    return _form_page(request, form, title=title, back=_unit_url(unit), unit=unit)


# --- availability -----------------------------------------------------------------------------
def _own_unit(request: PrincipalRequest) -> OrgUnit:
    """The unit the counsellor works at (?unit=code when they work at several)."""
    units = selectors.counselling_units_of(request.principal)
    if not units:
        raise PermissionDenied
    wanted = request.GET.get("unit") or request.POST.get("unit")
    return next((u for u in units if str(u.code) == wanted), units[0])


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def availability(request: PrincipalRequest) -> HttpResponse:
    unit = _own_unit(request)
    form = AvailabilityForm(request.POST or None, rooms=selectors.rooms_of(unit))
    if request.method == "POST" and form.is_valid():
        try:
            services.publish_availability(actor=request.user, unit=unit, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Your time was published."))
            return redirect(f"{request.path}?unit={unit.code}")
    context = {
        "unit": unit,
        "units": selectors.counselling_units_of(request.principal),
        "form": form,
        "rows": selectors.availability_of(request.user, unit),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "counselling/availability.html", context, status=status)


@requires(Cap.COUNSEL)
@require_POST
def availability_remove(request: PrincipalRequest, code: Any) -> HttpResponse:
    row = selectors.get_availability(principal=request.principal, code=code)
    services.remove_availability(actor=request.user, availability=row)
    messages.success(request, _("The time was removed."))
    return redirect(f"{_url('counselling:availability')}?unit={row.unit.code}")


def _url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs=kwargs or None)


# --- booking ----------------------------------------------------------------------------------
def _booking_units(request: PrincipalRequest) -> list[OrgUnit]:
    """The schools whose counsellors a booker may book: those of their BOOK_COUNSELLING grants
    (a head teacher's class → its school)."""
    units: dict[int, OrgUnit] = {}
    for grant in request.principal.grants_with(Cap.BOOK_COUNSELLING):
        school = grant.unit
        if school.kind not in COUNSELLING_UNIT_KINDS:
            school = grant.unit.ancestors().filter(kind="school").first() or grant.unit
        if school.kind in COUNSELLING_UNIT_KINDS:
            units[school.pk] = school
    return list(units.values())


def _booked_as(request: PrincipalRequest, student: Any) -> str:
    """How the booker stands to the student: a counsellor, the head teacher, else a mentor (the
    roles of their BOOK_COUNSELLING grants whose area holds the student)."""
    cls = student.school_class
    paths = [student.school.path, *([cls.path] if cls is not None else [])]
    roles = {
        g.role
        for g in request.principal.grants_with(Cap.BOOK_COUNSELLING)
        if any(p.startswith(g.area.path) for p in paths)
    }
    if roles & {Role.PSYCHOLOGY_TEACHER, Role.STATION_COUNSELLOR}:
        return BookedAs.COUNSELLOR
    if Role.HEAD_TEACHER in roles:
        return BookedAs.HEAD_TEACHER
    if Role.MENTOR in roles:
        return BookedAs.MENTOR
    return BookedAs.HEAD_TEACHER


@requires(Cap.BOOK_COUNSELLING)
@require_http_methods(["GET", "POST"])
def book(request: PrincipalRequest) -> HttpResponse:
    """On a student's behalf (a head teacher): the student, the counsellor and the day, then one
    of the counsellor's free times that day."""
    units = _booking_units(request)
    counsellors = [c for u in units for c in selectors.counsellors_of(u)]
    form = BookingForm(request.POST or None, principal=request.principal, counsellors=counsellors)
    form.set_slots([])
    slots_shown = False
    if request.method == "POST" and form.is_valid():
        student, counsellor = form.cleaned_data["student"], form.cleaned_data["counsellor"]
        unit = next((u for u in units if u.pk == student.school_id), None)
        if unit is None or selectors.counsellor_of(unit, counsellor.pk) is None:
            form.add_error("counsellor", _("Choose a counsellor of the student's school."))
        else:
            free = selectors.free_slots(
                unit=unit, counsellor=counsellor, day=form.cleaned_data["day"], viewer=request.user
            )
            chosen = form.cleaned_data.get("slot") or ""
            form.set_slots(free)
            slots_shown = True
            if chosen and chosen not in form.free:
                form.add_error("slot", _("That time has just been taken. Choose another time."))
            elif chosen:
                slot = form.free[chosen]
                try:
                    appointment = services.book_appointment(
                        actor=request.user,
                        booked_as=_booked_as(request, student),
                        unit=unit,
                        student=student,
                        counsellor=counsellor,
                        starts_at=slot.starts_at,
                        ends_at=slot.ends_at,
                        room=slot.room,
                        channel=form.cleaned_data["channel"],
                        meeting_link=form.cleaned_data["meeting_link"],
                    )
                except Errors as exc:
                    apply_service_error(form, exc)
                else:
                    messages.success(request, _("The appointment was booked."))
                    return redirect("counselling:appointment-detail", code=appointment.code)
    status = 400 if request.method == "POST" and form.errors else 200
    context = {"form": form, "slots_shown": slots_shown}
    return render(request, "counselling/book.html", context, status=status)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def book_own(request: PrincipalRequest) -> HttpResponse:
    unit = _own_unit(request)
    form = CounsellorBookingForm(
        request.POST or None, principal=request.principal, rooms=selectors.rooms_of(unit)
    )
    if request.method == "POST" and form.is_valid():
        starts_at, ends_at = form.times()
        try:
            appointment = services.book_appointment(
                actor=request.user,
                booked_as=BookedAs.COUNSELLOR,
                unit=unit,
                student=form.cleaned_data["student"],
                counsellor=request.user,
                starts_at=starts_at,
                ends_at=ends_at,
                room=form.cleaned_data["room"],
                channel=form.cleaned_data["channel"],
                meeting_link=form.cleaned_data["meeting_link"],
            )
        except Errors as exc:
            apply_service_error(form, exc, default_field="starts_at")
        else:
            messages.success(request, _("The appointment was booked."))
            return redirect("counselling:appointment-detail", code=appointment.code)
    return _form_page(
        request, form, title=_("Book an appointment"), back=_url("counselling:calendar"), unit=unit
    )


# --- appointments -----------------------------------------------------------------------------
@requires(Cap.VIEW_COUNSELLING)
def appointment_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    appointment = selectors.get_appointment(principal=principal, code=code)
    context = {
        "a": appointment,
        "can_handle": selectors.may_handle(principal, appointment),
        "can_change": selectors.may_change(principal, appointment),
        "begun": appointment.starts_at <= timezone.now(),
        "session": selectors_sessions.session_for_appointment(appointment),
        "is_counsellor": appointment.counsellor_id == principal.user_id,
    }
    return render(request, "counselling/appointment.html", context)


def _changeable(request: PrincipalRequest, code: Any, *, handle: bool = False) -> Any:
    appointment = selectors.get_appointment(principal=request.principal, code=code)
    allowed = selectors.may_handle if handle else selectors.may_change
    if not allowed(request.principal, appointment):
        raise PermissionDenied
    return appointment


@requires(Cap.VIEW_COUNSELLING)
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: PrincipalRequest, code: Any) -> HttpResponse:
    appointment = _changeable(request, code)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_appointment(
                actor=request.user, appointment=appointment, **form.cleaned_data
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The appointment was cancelled."))
            return redirect("counselling:appointment-detail", code=appointment.code)
    back = _url("counselling:appointment-detail", code=appointment.code)
    return _form_page(request, form, title=_("Cancel the appointment"), back=back)


@requires(Cap.VIEW_COUNSELLING)
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request: PrincipalRequest, code: Any) -> HttpResponse:
    appointment = _changeable(request, code)
    initial = {"starts_at": timezone.localtime(appointment.starts_at)}
    form = RescheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        starts_at = form.cleaned_data["starts_at"]
        try:
            new = services.reschedule_appointment(
                actor=request.user,
                appointment=appointment,
                starts_at=starts_at,
                ends_at=starts_at + (appointment.ends_at - appointment.starts_at),
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except Errors as exc:
            apply_service_error(form, exc, default_field="starts_at")
        else:
            messages.success(request, _("The appointment was moved."))
            return redirect("counselling:appointment-detail", code=new.code)
    back = _url("counselling:appointment-detail", code=appointment.code)
    return _form_page(request, form, title=_("Move the appointment"), back=back)


@requires(Cap.COUNSEL)
@require_POST
def appointment_confirm(request: PrincipalRequest, code: Any) -> HttpResponse:
    appointment = _changeable(request, code, handle=True)
    try:
        services.confirm_appointment(actor=request.user, appointment=appointment)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The appointment was confirmed."))
    return redirect("counselling:appointment-detail", code=appointment.code)


@requires(Cap.COUNSEL)
@require_POST
def appointment_attendance(request: PrincipalRequest, code: Any) -> HttpResponse:
    appointment = _changeable(request, code, handle=True)
    attended = request.POST.get("attended") == "1"
    try:
        services.record_attendance(actor=request.user, appointment=appointment, attended=attended)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Attendance was recorded."))
    return redirect("counselling:appointment-detail", code=appointment.code)


# --- the calendar and its feed ------------------------------------------------------------
@requires(Cap.COUNSEL)
def calendar(request: PrincipalRequest) -> HttpResponse:
    """The counsellor's own appointments: a day or a week (from Monday), as a list that reads on
    a phone."""
    view = "day" if request.GET.get("view") == "day" else "week"
    try:
        start = datetime.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        start = timezone.localdate()
    if view == "week":
        start -= datetime.timedelta(days=start.weekday())
    step = datetime.timedelta(days=1 if view == "day" else 7)
    context = {
        "view": view,
        "start": start,
        "previous": start - step,
        "next": start + step,
        "days": selectors.calendar(
            counsellor=request.user, start=start, days=1 if view == "day" else 7
        ),
        "today": timezone.localdate(),
    }
    return render(request, "counselling/calendar.html", context)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def feed_manage(request: PrincipalRequest) -> HttpResponse:
    """Make (or renew) the private feed URL, shown once; or revoke it."""
    feed_url = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.revoke_feed(actor=request.user)
            messages.success(request, _("The calendar feed was revoked."))
            return redirect("counselling:feed-manage")
        token = services.create_feed(actor=request.user)
        feed_url = request.build_absolute_uri(_url("counselling:feed", token=token))
    context = {"feed_url": feed_url, "has_feed": selectors.has_feed(request.user)}
    return render(request, "counselling/feed.html", context)


def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed: no sign-in (calendar apps cannot), the token is the key; 404 for an
    unknown or revoked one. Events carry the time, the channel and the room, never a student."""
    user = selectors.feed_user(token)
    if user is None:
        raise Http404
    body = calendar_feed.render(user, selectors.feed_appointments(user))
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")


# --- sessions, confidentiality and supervision ----------------------------------------------------
def _key(form: Any) -> None:
    """A fresh client key for a new form (a double click posts the same key twice)."""
    if not form.is_bound:
        form.initial.setdefault("client_key", uuid.uuid4().hex)


@requires(Cap.COUNSEL)
def session_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    mine = selectors_sessions.my_sessions(principal)
    supervised = selectors_sessions.supervised_sessions(principal)
    record_list_read(
        actor=request.user,
        action="counselling.sessions.listed",
        rows=[*mine, *supervised],
        read=["session dates"],
    )
    context = {"sessions": mine, "supervised": supervised}
    return render(request, "counselling/sessions.html", context)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def session_add(request: PrincipalRequest) -> HttpResponse:
    """Record a session: from an appointment (?appointment=code: its student, time and channel)
    or on its own (the student by the searchable picker)."""
    principal = request.principal
    appointment = None
    wanted = request.GET.get("appointment") or request.POST.get("appointment")
    if wanted:
        try:
            appointment = selectors.get_appointment(principal=principal, code=uuid.UUID(wanted))
        except ValueError:
            raise Http404 from None
        if appointment.counsellor_id != principal.user_id:
            raise PermissionDenied
        done = selectors_sessions.session_for_appointment(appointment)
        if done is not None:
            return redirect("counselling:session-detail", code=done.code)
    initial = {}
    if appointment is not None:  # the appointment's length, not the default 50 minutes
        initial["minutes"] = int(
            (appointment.ends_at - appointment.starts_at).total_seconds() // 60
        )
    form = SessionForm(
        request.POST or None,
        principal=principal,
        from_appointment=appointment is not None,
        initial=initial,
    )
    _key(form)
    unit = appointment.unit if appointment else _own_unit(request)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            session = services_sessions.record_session(
                actor=request.user, unit=unit, appointment=appointment, **data
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The session was recorded."))
            return redirect("counselling:session-detail", code=session.code)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "appointment": appointment, "unit": unit}
    return render(request, "counselling/session_form.html", context, status=status)


@requires(Cap.VIEW_COUNSELLING)
def session_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A session at the reader's tier: everything for the author and their supervisor, the
    summary for the case team; 404 for everyone else. Each read is audited."""
    principal = request.principal
    session, access = selectors_sessions.get_session(principal=principal, code=code)
    services_sessions.read_session(actor=request.user, session=session, access=access)
    notes = access == selectors_sessions.Access.NOTES
    context = {
        "s": session,
        "notes": notes,
        "is_author": session.counsellor_id == principal.user_id,
        "breaks": selectors_sessions.breaks_of(session) if notes else [],
    }
    return render(request, "counselling/session.html", context)


def _authored(request: PrincipalRequest, code: Any) -> Any:
    session, _access = selectors_sessions.get_session(principal=request.principal, code=code)
    if session.counsellor_id != request.principal.user_id:
        raise PermissionDenied
    return session


@requires(Cap.COUNSEL)
@require_POST
def session_alert(request: PrincipalRequest, code: Any) -> HttpResponse:
    session = _authored(request, code)
    try:
        services_sessions.raise_alert_from_session(actor=request.user, session=session)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("An alert was raised into the alert loop."))
    return redirect("counselling:session-detail", code=session.code)


@requires(Cap.COUNSEL)
@require_POST
def session_case(request: PrincipalRequest, code: Any) -> HttpResponse:
    session = _authored(request, code)
    try:
        services_sessions.attach_session_to_case(actor=request.user, session=session)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The session was attached to the student's case."))
    return redirect("counselling:session-detail", code=session.code)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def session_break(request: PrincipalRequest, code: Any) -> HttpResponse:
    """Record a decision to break confidentiality: the author or the supervisor."""
    session, access = selectors_sessions.get_session(principal=request.principal, code=code)
    if access != selectors_sessions.Access.NOTES:
        raise PermissionDenied
    initial = {"disclosed_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = BreakForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services_sessions.record_confidentiality_break(
                actor=request.user, session=session, **form.cleaned_data
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The decision was recorded."))
            return redirect("counselling:session-detail", code=session.code)
    back = _url("counselling:session-detail", code=session.code)
    return _form_page(request, form, title=_("Break confidentiality"), back=back)


@requires(Cap.VIEW_COUNSELLING)
def confidentiality(request: PrincipalRequest) -> HttpResponse:
    """The school leader's list of breaks of confidentiality: the facts, never the notes."""
    rows = selectors_sessions.school_breaks(request.principal)
    record_list_read(
        actor=request.user,
        action="counselling.confidentiality.listed",
        rows=[r.session for r in rows],
        read=["confidentiality breaks"],
    )
    return render(request, "counselling/confidentiality.html", {"rows": rows})


@requires(Cap.COUNSEL)
def supervision_list(request: PrincipalRequest) -> HttpResponse:
    asked, received = selectors_sessions.supervisions(request.principal)
    context = {"asked": asked, "received": received}
    return render(request, "counselling/supervision_list.html", context)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def supervision_add(request: PrincipalRequest) -> HttpResponse:
    form = SupervisionAskForm(
        request.POST or None,
        supervisors=selectors_sessions.supervisors_for(request.user),
        sessions=selectors_sessions.my_sessions(request.principal),
    )
    _key(form)
    if request.method == "POST" and form.is_valid():
        try:
            row = services_sessions.ask_supervision(actor=request.user, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Your request for supervision was sent."))
            return redirect("counselling:supervision-detail", code=row.code)
    back = _url("counselling:supervision")
    return _form_page(request, form, title=_("Ask for supervision"), back=back)


@requires(Cap.COUNSEL)
def supervision_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    """The request, its sessions (the supervisor reads their process notes: audited) and the
    advice."""
    row = selectors_sessions.get_supervision(principal=request.principal, code=code)
    sessions = selectors_sessions.supervision_sessions(row)
    is_supervisor = row.supervisor_id == request.principal.user_id
    if is_supervisor:
        for session in sessions:
            services_sessions.read_session(
                actor=request.user, session=session, access=selectors_sessions.Access.NOTES
            )
    context = {"r": row, "sessions": sessions, "is_supervisor": is_supervisor}
    return render(request, "counselling/supervision.html", context)


@requires(Cap.SUPERVISE_COUNSELLING)
@require_http_methods(["GET", "POST"])
def supervision_advice(request: PrincipalRequest, code: Any) -> HttpResponse:
    row = selectors_sessions.get_supervision(principal=request.principal, code=code)
    if row.supervisor_id != request.principal.user_id:
        raise PermissionDenied
    form = SupervisionAdviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services_sessions.give_supervision(actor=request.user, request=row, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The advice was recorded."))
            return redirect("counselling:supervision-detail", code=row.code)
    back = _url("counselling:supervision-detail", code=row.code)
    return _form_page(request, form, title=_("Record the advice"), back=back)


def archive_section(principal: Any, student: Any) -> Any:
    """The student's archive (people.profile hook): the sessions the user may read, with their
    summary only (author, supervisor, case team: each read audited), or the bare fact that
    counselling happens (the head teacher, the school leader), or nothing."""
    from xinqiao.people.profile import ProfileSection

    rows = selectors_sessions.archive_sessions(principal, student)
    if rows:
        for session, _access in rows:
            services_sessions.read_session(
                actor=principal.user, session=session, access=selectors_sessions.Access.SUMMARY
            )
        return ProfileSection(
            template="counselling/_archive.html",
            context={"counselling_sessions": [s for s, _a in rows]},
            fields_read=("counselling.sessions", "counselling.summary"),
        )
    fact = selectors_sessions.counselling_fact(principal, student)
    if fact is None:
        return None
    return ProfileSection(
        template="counselling/_archive.html",
        context={"counselling_count": fact[0], "counselling_last": fact[1]},
        fields_read=("counselling.count",),
    )


# --- room opening hours and usage (R21) -------------------------------------------------------
@requires(Cap.MANAGE_DUTY_ROSTER)
@require_http_methods(["GET", "POST"])
def room_hours(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A room's weekly opening hours: the list and a form to add a window."""
    room = selectors.get_room(principal=request.principal, code=code)
    form = RoomHoursForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_room_hours(actor=request.user, room=room, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The opening hours were added."))
            return redirect("counselling:room-hours", code=room.code)
    context = {"room": room, "unit": room.unit, "form": form, "rows": selectors.hours_of(room)}
    status = 400 if request.method == "POST" else 200
    return render(request, "counselling/room_hours.html", context, status=status)


@requires(Cap.MANAGE_DUTY_ROSTER)
@require_POST
def room_hours_remove(request: PrincipalRequest, code: Any) -> HttpResponse:
    row = selectors.get_room_hours(principal=request.principal, code=code)
    services.remove_room_hours(actor=request.user, hours=row)
    messages.success(request, _("The opening hours were removed."))
    return redirect("counselling:room-hours", code=row.room.code)


def _span(request: HttpRequest) -> selectors.Span:
    try:
        day = datetime.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = None
    return selectors.period(request.GET.get("period"), day)


def _period_context(span: selectors.Span) -> dict[str, Any]:
    return {
        "span": span,
        "periods": [
            (selectors.Period.WEEK, _("Week")),
            (selectors.Period.MONTH, _("Month")),
            (selectors.Period.TERM, _("Term")),
        ],
        "last_day": span.until - datetime.timedelta(days=1),
    }


@requires(Cap.MANAGE_DUTY_ROSTER)
def room_usage(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A unit's rooms: booked hours ÷ open hours (its roster's keepers)."""
    unit = _managed_unit(request, code)
    span = _span(request)
    rows = selectors.room_usage([unit], span)[unit.pk]
    total = selectors.unit_usage([unit], span)[0]
    context = {"unit": unit, "rows": rows, "total": total, **_period_context(span)}
    return render(request, "counselling/room_usage.html", context)


@requires(Cap.VIEW_WORKLOAD)
def area_usage(request: PrincipalRequest) -> HttpResponse:
    """Room usage per school and station of the user's area: hours only, no appointment."""
    span = _span(request)
    units = list(selectors.units_in_scope(request.principal, Cap.VIEW_WORKLOAD)[:300])
    context = {"rows": selectors.unit_usage(units, span), **_period_context(span)}
    return render(request, "counselling/area_usage.html", context)


# --- workload (R28) -----------------------------------------------------------------------------
def _workload_response(
    request: PrincipalRequest, context: dict[str, Any], template: str, filename: str
) -> HttpResponse:
    if request.GET.get("format") == "xlsx":
        return _workload_xlsx(request, context, filename)
    return render(request, template, context)


def _workload_xlsx(request: PrincipalRequest, context: dict[str, Any], filename: str) -> Any:
    import io

    from xinqiao.core.exports import xlsx_workbook

    span = context["span"]
    header = [_("Name"), *[str(s.label) for s in context["sources"]]]
    buffer = io.BytesIO()
    book, sheet, first = xlsx_workbook(
        buffer, request.user, sheet_name=_("Workload"), header=header
    )
    rows = [*context["rows"], *([context["total"]] if context.get("total") else [])]
    for i, row in enumerate(rows):
        sheet.write_string(first + i, 0, row.label)
        for j, value in enumerate(row.values):
            sheet.write_number(first + i, 1 + j, value)
    book.close()
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"{filename}-{span.since:%Y%m%d}-{span.until:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@requires(Cap.COUNSEL)
def workload_mine(request: PrincipalRequest) -> HttpResponse:
    """A counsellor's own workload over a week, a month or a term."""
    span = _span(request)
    rows = workload.per_user([request.user], span.since, span.until)
    context = {"rows": rows, "sources": workload.sources(), **_period_context(span)}
    return _workload_response(request, context, "counselling/workload_mine.html", "workload")


@requires(Cap.VIEW_WORKLOAD)
def workload_unit(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A school's (station's) per-staff table: its counsellors and psychology teachers (part-time
    ones counted for the school of their post), head teachers and mentors with any workload."""
    unit = selectors.get_unit(principal=request.principal, code=code, cap=Cap.VIEW_WORKLOAD)
    span = _span(request)
    people, part_time = selectors.workload_people([unit])[unit.pk]
    rows = workload.per_user(people, span.since, span.until, part_time)
    counsellors = {u.pk for u in selectors.counsellors_of(unit)} | set(part_time)
    rows = [r for r in rows if r.any or r.user.pk in counsellors]
    rows.sort(key=lambda r: (r.user.pk not in counsellors, r.label))
    context = {
        "unit": unit,
        "rows": rows,
        "total": workload.total(_("Total"), rows, unit),
        "sources": workload.sources(),
        **_period_context(span),
    }
    return _workload_response(request, context, "counselling/workload_unit.html", "workload")


@requires(Cap.VIEW_WORKLOAD)
def workload_area(request: PrincipalRequest) -> HttpResponse:
    """Per school and station of the user's area: the totals of its people (no child, no name)."""
    span = _span(request)
    units = list(selectors.units_in_scope(request.principal, Cap.VIEW_WORKLOAD)[:300])
    by_unit = selectors.workload_people(units)
    everyone = {u.pk: u for people, _part in by_unit.values() for u in people}
    part = frozenset().union(*(p for _people, p in by_unit.values())) if by_unit else frozenset()
    per = {r.user.pk: r for r in workload.per_user(everyone.values(), span.since, span.until, part)}
    rows = [
        workload.total(unit.name, [per[u.pk] for u in by_unit[unit.pk][0]], unit) for unit in units
    ]
    context = {
        "rows": rows,
        "total": workload.total(_("Total"), rows),
        "sources": workload.sources(),
        **_period_context(span),
    }
    return _workload_response(request, context, "counselling/workload_area.html", "workload")


# --- the waitlist -------------------------------------------------------------------------------
@requires(Cap.BOOK_COUNSELLING)
@require_http_methods(["GET", "POST"])
def waitlist(request: PrincipalRequest) -> HttpResponse:
    """The booker's waitlist entries, and joining: a student, a counsellor of the student's school
    (or any) and the week (when the counsellor's week is full)."""
    units = _booking_units(request)
    counsellors = [c for u in units for c in selectors.counsellors_of(u)]
    form = WaitlistForm(request.POST or None, principal=request.principal, counsellors=counsellors)
    if request.method == "POST" and form.is_valid():
        student, counsellor = form.cleaned_data["student"], form.cleaned_data["counsellor"]
        unit = next((u for u in units if u.pk == student.school_id), None)
        if unit is None or (
            counsellor is not None and selectors.counsellor_of(unit, counsellor.pk) is None
        ):
            form.add_error("counsellor", _("Choose a counsellor of the student's school."))
        else:
            try:
                services.join_waitlist(
                    actor=request.user,
                    booked_as=BookedAs.HEAD_TEACHER,
                    unit=unit,
                    student=student,
                    counsellor=counsellor,
                    week_start=form.cleaned_data["week"],
                )
            except Errors as exc:
                apply_service_error(form, exc, default_field="week")
            else:
                messages.success(request, _("You are on the waitlist."))
                return redirect("counselling:waitlist")
    status = 400 if request.method == "POST" and form.errors else 200
    context = {"form": form, "entries": selectors.my_waitlist(request.principal)}
    return render(request, "counselling/waitlist.html", context, status=status)


@requires(Cap.BOOK_COUNSELLING)
@require_POST
def waitlist_leave(request: PrincipalRequest, code: Any) -> HttpResponse:
    entry = selectors.get_waitlist_entry(principal=request.principal, code=code)
    try:
        services.leave_waitlist(actor=request.user, entry=entry)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You left the waitlist."))
    return redirect("counselling:waitlist")
