"""Staff pages of students' help requests (the counsellor's inbox: acknowledge, book a session,
raise an alert, close with an outcome) and bookings by a parent for their own child. Thin:
help_selectors read through the access layer, help_services write and audit."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.alerts.models import Level
from xinqiao.audit.services import record_list_read, record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.core.helplines import helplines_for

from . import help_selectors, help_services, selectors, services
from .models import Appointment, BookedAs, CancelReason, Channel, HelpOutcome, HelpRequest, Room

Errors = (DomainError, ValidationError)


class HelpBookingForm(forms.Form):
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    minutes = forms.IntegerField(
        label=gettext_lazy("Minutes"), min_value=10, max_value=240, initial=50
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), choices=Channel.choices, initial=Channel.FACE_TO_FACE
    )
    room = forms.ModelChoiceField(
        label=gettext_lazy("Room"), queryset=Room.objects.none(), required=False
    )
    meeting_link = forms.URLField(
        label=gettext_lazy("Meeting link"), required=False, assume_scheme="https"
    )

    prefix = "book"

    def __init__(self, *args: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]


class AlertForm(forms.Form):
    level = forms.ChoiceField(
        label=gettext_lazy("Level"),
        choices=[(level, level.label) for level in (Level.RED, Level.ORANGE, Level.YELLOW)],
        initial=Level.ORANGE,
    )


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=pgettext_lazy("help request", "Outcome"), choices=HelpOutcome.choices
    )


# --- the counsellor's help-request inbox ------------------------------------------------------
@requires(Cap.RESPOND_TO_HELP)
def inbox(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    rows = help_selectors.open_help_requests(principal)
    closed = help_selectors.recently_closed(principal)
    record_list_read(
        actor=request.user,
        action="counselling.help.listed",
        rows=[*rows, *closed],
        read=["name", "help_request"],
    )
    context = {"rows": rows, "closed": closed, "now": timezone.now()}
    return render(request, "counselling/help/inbox.html", context)


def _detail(
    request: PrincipalRequest,
    help_request: HelpRequest,
    *,
    book_form: HelpBookingForm | None = None,
    alert_form: AlertForm | None = None,
    close_form: CloseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    principal = request.principal
    counsel = help_selectors.may_counsel(principal, help_request)
    rooms = selectors.rooms_of(help_request.school) if counsel else Room.objects.none()
    context = {
        "h": help_request,
        "can_counsel": counsel,
        "book_form": book_form or HelpBookingForm(rooms=rooms),
        "alert_form": alert_form or AlertForm(),
        "close_form": close_form or CloseForm(),
        "helplines": helplines_for([help_request.school]),
        "late": help_request.acknowledged_at is None and help_request.respond_by < timezone.now(),
    }
    return render(request, "counselling/help/detail.html", context, status=status)


@requires(Cap.RESPOND_TO_HELP)
def help_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    help_request = help_selectors.get_help_request(principal=request.principal, code=code)
    record_read(
        actor=request.user,
        obj=help_request,
        fields=["student", "message"],
        action="counselling.help.viewed",
    )
    return _detail(request, help_request)


def _get(request: PrincipalRequest, code: Any) -> HelpRequest:
    return help_selectors.get_help_request(principal=request.principal, code=code)


@requires(Cap.RESPOND_TO_HELP)
@require_POST
def help_acknowledge(request: PrincipalRequest, code: Any) -> HttpResponse:
    help_request = _get(request, code)
    try:
        help_services.acknowledge_help(actor=request.user, help_request=help_request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You have the request: the escalation stops."))
    return redirect("counselling:help-detail", code=help_request.code)


@requires(Cap.COUNSEL)
@require_POST
def help_book(request: PrincipalRequest, code: Any) -> HttpResponse:
    help_request = _get(request, code)
    form = HelpBookingForm(request.POST, rooms=selectors.rooms_of(help_request.school))
    if form.is_valid():
        starts_at = form.cleaned_data["starts_at"]
        try:
            appointment = help_services.book_for_help(
                actor=request.user,
                help_request=help_request,
                starts_at=starts_at,
                ends_at=starts_at + datetime.timedelta(minutes=form.cleaned_data["minutes"]),
                channel=form.cleaned_data["channel"],
                room=form.cleaned_data["room"],
                meeting_link=form.cleaned_data["meeting_link"],
            )
        except Errors as exc:
            apply_service_error(form, exc, default_field="starts_at")
        else:
            messages.success(request, _("The appointment was booked."))
            return redirect("counselling:appointment-detail", code=appointment.code)
    return _detail(request, help_request, book_form=form, status=400)


@requires(Cap.RESPOND_TO_HELP)
@require_POST
def help_alert(request: PrincipalRequest, code: Any) -> HttpResponse:
    help_request = _get(request, code)
    form = AlertForm(request.POST)
    if form.is_valid():
        try:
            help_services.raise_alert_for_help(
                actor=request.user, help_request=help_request, level=form.cleaned_data["level"]
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("An alert was raised into the alert loop."))
            return redirect("counselling:help-detail", code=help_request.code)
    return _detail(request, help_request, alert_form=form, status=400)


@requires(Cap.RESPOND_TO_HELP)
@require_POST
def help_close(request: PrincipalRequest, code: Any) -> HttpResponse:
    help_request = _get(request, code)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            help_services.close_help(
                actor=request.user, help_request=help_request, **form.cleaned_data
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The request for help was closed."))
            return redirect("counselling:help-inbox")
    return _detail(request, help_request, close_form=form, status=400)


# --- a parent books for their own child ------------------------------------------------------
def _child(request: PrincipalRequest, code: Any) -> Any:
    return request.principal.get_student(code, cap=Cap.BOOK_FOR_OWN_CHILD)


@requires(Cap.BOOK_FOR_OWN_CHILD)
@require_http_methods(["GET", "POST"])
def family_book(request: PrincipalRequest, code: Any) -> HttpResponse:
    """The free times of the child's school's counsellors; one is booked for the child."""
    child = _child(request, code)
    school = child.school
    status = 200
    if request.method == "POST":
        who, _sep, when = request.POST.get("slot", "").partition("|")
        counsellor = selectors.counsellor_of(school, who) if who else None
        chosen = None
        try:
            starts_at = datetime.datetime.fromisoformat(when) if when else None
        except ValueError:
            starts_at = None
        if counsellor is not None and starts_at is not None and timezone.is_aware(starts_at):
            day = timezone.localtime(starts_at).date()
            free = selectors.free_slots(unit=school, counsellor=counsellor, day=day)
            chosen = next((s for s in free if s.starts_at == starts_at), None)
        if chosen is None:
            messages.error(request, _("That time has just been taken. Choose another time."))
            status = 400
        else:
            try:
                services.book_appointment(
                    actor=request.user,
                    booked_as=BookedAs.PARENT,
                    unit=school,
                    student=child,
                    counsellor=counsellor,
                    starts_at=chosen.starts_at,
                    ends_at=chosen.ends_at,
                    channel=Channel.FACE_TO_FACE,
                    room=chosen.room,
                )
            except DomainError as exc:
                messages.error(request, exc.message)
                status = 400
            else:
                messages.success(request, _("The appointment was booked."))
                return redirect("counselling:family-book", code=child.code)
    booked = list(
        Appointment.objects.holding()
        .filter(student=child, booked_by=request.user, ends_at__gte=timezone.now())
        .select_related("counsellor", "counsellor__staff", "room")
    )
    counsellors = help_selectors.school_counsellors(school)
    context = {
        "child": child,
        "free": help_selectors.free_times(school, counsellors),
        "booked": booked,
        "reasons": CancelReason.choices,
    }
    return render(request, "counselling/family_book.html", context, status=status)


@requires(Cap.BOOK_FOR_OWN_CHILD)
@require_POST
def family_cancel(request: PrincipalRequest, code: Any) -> HttpResponse:
    appointment = Appointment.objects.filter(code=code, booked_by=request.user).first()
    if appointment is None:
        raise Http404
    child = _child(request, appointment.student.code)  # still their child
    try:
        services.cancel_appointment(
            actor=request.user,
            appointment=appointment,
            reason=request.POST.get("reason", CancelReason.NOT_NEEDED),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The appointment was cancelled."))
    return redirect("counselling:family-book", code=child.code)
