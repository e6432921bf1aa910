"""Mentor-system pages: a mentor's mentees and talk logs, the talk form (quick on a phone), a
talk's page (the note for its mentor and the school's psychology teachers, audited), the
psychology teachers' list of talks, coverage per class, a class's mentors with bulk assignment,
one-by-one assignment and ending. Thin: selectors read through the access layer, services write
and audit."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_list_read, record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import OrgUnit

from . import selectors, services
from .forms import AssignForm, ClassAssignForm, TalkForm

Errors = (DomainError, ValidationError)


# --- a mentor's pages -------------------------------------------------------------------------
@requires(Cap.MENTOR_STUDENTS)
def home(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    mentees = list(selectors.my_mentees(principal)[:200])
    last = selectors.last_talks(request.user, [s.pk for s in mentees])
    context = {
        "term": selectors.current_term(),
        "mentees": [(s, last.get(s.pk)) for s in mentees],
        "talks": selectors.my_talks(principal),
        "can_manage": principal.can(Cap.MANAGE_MENTORS),
        "reads_notes": principal.can(Cap.READ_TALK_NOTES),
    }
    return render(request, "mentoring/home.html", context)


@requires(Cap.MENTOR_STUDENTS)
@require_http_methods(["GET", "POST"])
def talk_add(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    initial: dict[str, Any] = {}
    wanted = request.GET.get("student")
    if wanted:
        initial["student"] = selectors.get_mentee(principal, wanted).code
    form = TalkForm(request.POST or None, principal=principal, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            talk = services.log_talk(actor=request.user, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            if talk.concern_code is not None:
                messages.warning(
                    request,
                    _(
                        "The talk was saved. Because you are worried, a concern was reported to "
                        "the school's psychology teachers (an alert in the alert flow)."
                    ),
                )
            else:
                messages.success(request, _("The talk was saved."))
            return redirect("mentoring:home")
    status = 400 if request.method == "POST" else 200
    return render(request, "mentoring/talk_form.html", {"form": form}, status=status)


@requires(Cap.MENTOR_STUDENTS)
def talk_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    talk, with_note = selectors.get_talk(request.principal, code)
    if with_note:
        record_read(actor=request.user, obj=talk, fields=["note"], action="mentoring.talk.read")
    context = {
        "talk": talk,
        "with_note": with_note,
        "mentor_name": selectors.display_name(talk.mentor),
    }
    return render(request, "mentoring/talk.html", context)


@requires(Cap.READ_TALK_NOTES)
def school_talks(request: PrincipalRequest) -> HttpResponse:
    talks = selectors.school_talks(request.principal)
    record_list_read(
        actor=request.user, action="mentoring.talks.listed", rows=talks, read=["topic", "worried"]
    )
    rows = [(t, selectors.display_name(t.mentor)) for t in talks]
    return render(request, "mentoring/school_talks.html", {"rows": rows})


# --- assigners: coverage, a class, one by one -------------------------------------------------
@requires(Cap.MANAGE_MENTORS)
def coverage(request: PrincipalRequest) -> HttpResponse:
    term = selectors.current_term()
    context = {
        "term": term,
        "rows": selectors.coverage(request.principal, term),
        "month": selectors.month_start(),
    }
    return render(request, "mentoring/coverage.html", context)


def _class_context(request: PrincipalRequest, school_class: OrgUnit) -> dict[str, Any]:
    principal = request.principal
    term = selectors.current_term()
    students = list(selectors.class_students(principal, school_class)[:200])
    current = selectors.current_mentorships(students, term) if term else {}
    rows = []
    for s in students:
        m = current.get(s.pk)
        rows.append((s, m, selectors.display_name(m.mentor) if m else ""))
    return {
        "unit": school_class,
        "term": term,
        "rows": rows,
        "talks": selectors.class_talks(school_class, term) if term else [],
    }


@requires(Cap.MANAGE_MENTORS)
def class_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    school_class = selectors.get_class(request.principal, code)
    context = _class_context(request, school_class)
    teachers = selectors.teachers_of(selectors.school_of(school_class))
    context["form"] = ClassAssignForm(teachers=teachers)
    return render(request, "mentoring/class.html", context)


@requires(Cap.MANAGE_MENTORS)
@require_http_methods(["GET", "POST"])
def class_assign(request: PrincipalRequest, code: Any) -> HttpResponse:
    school_class = selectors.get_class(request.principal, code)
    teachers = selectors.teachers_of(selectors.school_of(school_class))
    form = ClassAssignForm(request.POST or None, teachers=teachers)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.assign_class(
                actor=request.user, school_class=school_class, mentors=form.cleaned_data["mentors"]
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(
                request, _("%(count)s students were given a mentor.") % {"count": len(new)}
            )
            return redirect("mentoring:class", code=school_class.code)
    context = _class_context(request, school_class)
    context["form"] = form
    status = 400 if request.method == "POST" else 200
    return render(request, "mentoring/class.html", context, status=status)


def _assigner_teachers(request: PrincipalRequest) -> list[Any]:
    schools: dict[int, OrgUnit] = {}
    for grant in request.principal.grants_with(Cap.MANAGE_MENTORS):
        school = selectors.school_of(grant.unit)
        schools[school.pk] = school
    seen: dict[int, Any] = {}
    for school in schools.values():
        for user in selectors.teachers_of(school):
            seen.setdefault(user.pk, user)
    return list(seen.values())


@requires(Cap.MANAGE_MENTORS)
@require_http_methods(["GET", "POST"])
def assign(request: PrincipalRequest) -> HttpResponse:
    """One student at a time (the searchable picker): a first mentor, or another (reassign)."""
    principal = request.principal
    initial: dict[str, Any] = {}
    wanted = request.GET.get("student")
    if wanted:
        initial["student"] = selectors.get_assignable(principal, wanted).code
    form = AssignForm(
        request.POST or None,
        principal=principal,
        teachers=_assigner_teachers(request),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        student = form.cleaned_data["student"]
        try:
            services.assign_mentor(
                actor=request.user, student=student, mentor=form.cleaned_data["mentor"]
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The mentor was assigned."))
            if student.school_class is not None:
                return redirect("mentoring:class", code=student.school_class.code)
            return redirect("mentoring:coverage")
    status = 400 if request.method == "POST" else 200
    return render(request, "mentoring/assign.html", {"form": form}, status=status)


@requires(Cap.MANAGE_MENTORS)
@require_POST
def end(request: PrincipalRequest, code: Any) -> HttpResponse:
    mentorship = selectors.get_mentorship(request.principal, code)
    services.end_mentorship(actor=request.user, mentorship=mentorship)
    messages.success(request, _("The mentorship was ended."))
    school_class = mentorship.student.school_class
    if school_class is not None:
        return redirect("mentoring:class", code=school_class.code)
    return redirect("mentoring:coverage")
