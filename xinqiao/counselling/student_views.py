"""The student's counselling page (no account: a signed session, student_session.py) and its
entries: a school's counselling entry and the general one (the personal code), and the end of a
questionnaire (/take/help/). The student comes ONLY from the session: every form field naming
a student, a school or a code is ignored."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.core.errors import DomainError
from xinqiao.core.helplines import helplines_for
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.screening.selectors import student_of_take_session

from . import help_selectors, help_services, student_session
from .selectors import counsellor_of, free_slots


class PersonalCodeForm(forms.Form):
    personal_code = forms.CharField(
        label=gettext_lazy("Your personal code"),
        max_length=20,
        help_text=gettext_lazy("The code on your sign-in slip, e.g. ABCD-EFGH."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


def _enter_page(
    request: HttpRequest, form: PersonalCodeForm, school: OrgUnit | None, status: int = 200
) -> HttpResponse:
    action = (
        reverse("counselling:school-entry", kwargs={"code": school.code})
        if school is not None
        else reverse("counselling:student-enter")
    )
    context = {
        "form": form,
        "school": school,
        "action": action,
        "helplines": helplines_for([school]),
    }
    return render(request, "counselling/student/enter.html", context, status=status)


def _enter(request: HttpRequest, school: OrgUnit | None) -> HttpResponse:
    if request.method == "GET":
        return _enter_page(request, PersonalCodeForm(), school)
    form = PersonalCodeForm(request.POST)
    if not form.is_valid():
        return _enter_page(request, form, school, status=400)
    if student_session.is_rate_limited(request):
        too_many = _("Too many attempts from this device. Wait ten minutes and try again.")
        form.add_error(None, too_many)
        return _enter_page(request, form, school, status=429)
    student = student_session.student_by_code(form.cleaned_data["personal_code"])
    if student is None or (school is not None and student.school_id != school.pk):
        student_session.note_failure(request)
        form.add_error(
            "personal_code", _("This code is not known here. Check it or ask your teacher.")
        )
        return _enter_page(request, form, school, status=400)
    response = redirect("counselling:student-home")
    student_session.sign_in(response, student)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def enter(request: HttpRequest) -> HttpResponse:
    """The general entry: the personal code."""
    return _enter(request, None)


@never_cache
@require_http_methods(["GET", "POST"])
def school_entry(request: HttpRequest, code: Any) -> HttpResponse:
    """A school's counselling entry (a link or QR code the school shows): the personal code of
    one of its students."""
    school = OrgUnit.objects.filter(code=code, kind=Kind.SCHOOL, is_active=True).first()
    if school is None:
        raise Http404
    return _enter(request, school)


@never_cache
def from_questionnaire(request: HttpRequest) -> HttpResponse:
    """From the end of a questionnaire: the questionnaire's sign-in names the student."""
    student = student_of_take_session(request)
    if student is None:  # no questionnaire sign-in here: the personal code, then
        return _enter_page(request, PersonalCodeForm(), None)
    response = redirect("counselling:student-home")
    student_session.sign_in(response, student)
    return response


def _student_or_none(request: HttpRequest) -> Any:
    return student_session.signed_in_student(request)


@never_cache
def home(request: HttpRequest) -> HttpResponse:
    student = _student_or_none(request)
    if student is None:  # not (or no longer) signed in: the personal code first
        return _enter_page(request, PersonalCodeForm(), None)
    school = student.school
    counsellors = help_selectors.school_counsellors(school)
    context = {
        "student": student,
        "school": school,
        "helplines": helplines_for([school]),
        "sent": request.GET.get("sent", ""),
        "request_key": uuid.uuid4().hex,
        "appointments": help_selectors.student_appointments(student),
        "help_requests": help_selectors.student_help_requests(student),
        "free": help_selectors.free_times(school, counsellors),
        "has_counsellor": bool(counsellors),
        "message_max": help_services.MESSAGE_MAX,
    }
    return render(request, "counselling/student/home.html", context)


@require_POST
def ask(request: HttpRequest) -> HttpResponse:
    """ "I need help now" (urgent=1) or "please find a time with me" (urgent=0)."""
    student = _student_or_none(request)
    if student is None:
        return redirect("counselling:student-enter")
    urgent = request.POST.get("urgent") == "1"
    try:
        help_services.ask_for_help(
            student=student,
            urgent=urgent,
            message=request.POST.get("message", ""),
            request_key=request.POST.get("key", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("counselling:student-home")
    return redirect(f"{_home_url()}?sent={'urgent' if urgent else 'talk'}")


def _home_url() -> str:
    return reverse("counselling:student-home")


@require_POST
def book(request: HttpRequest) -> HttpResponse:
    """One of the free times shown: "<counsellor id>|<start ISO>"; checked again here."""
    student = _student_or_none(request)
    if student is None:
        return redirect("counselling:student-enter")
    wanted = request.POST.get("slot", "")
    who, _sep, when = wanted.partition("|")
    counsellor = counsellor_of(student.school, who) if who else None
    try:
        starts_at = datetime.datetime.fromisoformat(when) if when else None
    except ValueError:
        starts_at = None
    chosen = None
    if counsellor is not None and starts_at is not None and timezone.is_aware(starts_at):
        day = timezone.localtime(starts_at).date()
        chosen = next(
            (
                s
                for s in free_slots(unit=student.school, counsellor=counsellor, day=day)
                if s.starts_at == starts_at
            ),
            None,
        )
    if chosen is None:
        messages.error(request, _("That time has just been taken. Choose another time."))
        return redirect("counselling:student-home")
    try:
        help_services.book_as_student(
            student=student,
            counsellor=counsellor,
            starts_at=chosen.starts_at,
            ends_at=chosen.ends_at,
            room=chosen.room,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your appointment is booked."))
    return redirect("counselling:student-home")


@require_POST
def cancel(request: HttpRequest, code: Any) -> HttpResponse:
    student = _student_or_none(request)
    if student is None:
        return redirect("counselling:student-enter")
    appointment = help_selectors.student_appointment(student, code)  # 404: not theirs
    try:
        help_services.cancel_as_student(student=student, appointment=appointment)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The appointment was cancelled."))
    return redirect("counselling:student-home")


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    response = redirect("counselling:student-enter")
    student_session.sign_out(response)
    return response
