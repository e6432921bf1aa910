"""Counselling pages: the service's home, a unit's roster with who is on duty now, the roster's
forms, a counsellor's availability, booking, the calendar and its iCalendar feed, an
appointment's page and its changes. Thin: selectors read through the access layer, services
write and audit."""

from __future__ import annotations

import datetime
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
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import OrgUnit

from . import calendar_feed, selectors, services
from .forms import (
    AvailabilityForm,
    BookingForm,
    CancelForm,
    CounsellorBookingForm,
    DutyExceptionForm,
    DutySlotForm,
    RescheduleForm,
    RoomForm,
    SettingsForm,
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
                unit=unit, counsellor=counsellor, day=form.cleaned_data["day"]
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
