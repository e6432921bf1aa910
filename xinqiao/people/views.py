"""Student list and profile, student editing, staff list. Thin: selectors read through the access
layer (404 outside the scope, 403 for the wrong role), services write and audit."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import Kind, OrgUnit

from . import selectors, services
from .forms import SELECT_LIMIT, StaffFilterForm, StudentFilterForm, StudentForm
from .profile import sections_for

PAGE_SIZE = 50

# What the profile page shows, for the audit trail of reads.
PROFILE_FIELDS = [
    "name",
    "student_number",
    "gender",
    "birth_date",
    "status",
    "school_class",
    "id_number_masked",
    "family_flags",
    "enrolments",
    "guardians",
    "committee_terms",
]


def _pick(principal: Principal, code: str, kind: str, within: OrgUnit | None) -> OrgUnit | None:
    unit = selectors.scoped_unit(principal=principal, code=code)
    if unit is None or unit.kind != kind or (within is not None and not within.contains(unit)):
        return None
    return unit


def _student_filters(request: PrincipalRequest) -> tuple[StudentFilterForm, OrgUnit | None]:
    """The filter form with the unit choices the user's scope offers, and the unit filtered on."""
    principal = request.principal
    get = request.GET
    choices: dict[str, list[OrgUnit] | None] = {}
    districts = selectors.filter_units(principal=principal, kind=Kind.DISTRICT)
    district = _pick(principal, get.get("district", ""), Kind.DISTRICT, None)
    if len(districts) > 1:
        choices["district"] = districts
    schools = selectors.filter_units(
        principal=principal, kind=Kind.SCHOOL, within=district, limit=SELECT_LIMIT + 1
    )
    many = len(schools) > SELECT_LIMIT  # a picker searches the whole scope, whatever district
    school = _pick(principal, get.get("school", ""), Kind.SCHOOL, None if many else district)
    if len(schools) > 1 or school is not None:
        choices["school"] = None if many else schools
    if school is None and len(schools) == 1:
        school = schools[0]
    grade = school_class = None
    if school is not None:
        choices["grade"] = selectors.filter_units(
            principal=principal, kind=Kind.GRADE, within=school
        )
        grade = _pick(principal, get.get("grade", ""), Kind.GRADE, school)
        choices["school_class"] = selectors.filter_units(
            principal=principal, kind=Kind.CLASS, within=grade or school
        )
        school_class = _pick(principal, get.get("school_class", ""), Kind.CLASS, grade or school)
    form = StudentFilterForm(get or None, unit_choices=choices, principal=principal)
    return form, school_class or grade or school or district


@requires(Cap.VIEW_STUDENTS)
def student_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    form, unit = _student_filters(request)
    text, refused = form.value("q"), False
    try:
        services.note_number_search(actor=request.user, text=text)
    except DomainError as error:
        form.add_error("q", str(error))
        refused = True
    students = selectors.list_students(
        principal=principal,
        text=text,
        unit=unit,
        status=form.value("status"),
        gender=form.value("gender"),
        flags=form.value("flags"),
    )
    if refused:
        students = students.none()
    page = Paginator(students, PAGE_SIZE).get_page(request.GET.get("page"))
    for student in page:
        student.masked_number = selectors.mask_student_number(student.student_number)  # type: ignore[attr-defined]
    context = {"form": form, "page": page}
    htmx = request.htmx  # type: ignore[attr-defined]
    # An htmx filter change swaps the browser fragment; a history restore needs the whole page.
    partial = bool(htmx) and not htmx.history_restore_request
    template = "people/_student_browser.html" if partial else "people/student_list.html"
    return render(request, template, context)


@requires(Cap.VIEW_STUDENTS)
def student_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    student = selectors.get_student(principal=principal, code=code)
    profile = selectors.student_profile(principal=principal, student=student)
    sections = sections_for(principal=principal, student=student)
    fields = PROFILE_FIELDS + [f for section in sections for f in section.fields_read]
    record_read(actor=request.user, obj=student, fields=fields, action="people.student.viewed")
    return render(
        request,
        "people/student_detail.html",
        {
            "profile": profile,
            "student": student,
            "section_html": [
                render_to_string(section.template, section.context, request=request)
                for section in sections
            ],
        },
    )


@require_POST
@requires(Cap.VIEW_FULL_ID_NUMBER)
def student_reveal_id(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    student = selectors.get_student(principal=principal, code=code)
    if not selectors.covers(principal=principal, student=student, cap=Cap.VIEW_FULL_ID_NUMBER):
        raise PermissionDenied
    record_read(
        actor=request.user,
        obj=student,
        fields=["id_number"],
        action="people.student.id_number_revealed",
    )
    context = {"student": student, "full_id_number": student.id_number}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "people/_id_number.html", {**context, "oob": True})
    profile = selectors.student_profile(principal=principal, student=student)
    profile.masked_student_number = student.student_number
    return render(request, "people/student_detail.html", {**context, "profile": profile})


@requires(Cap.EDIT_STUDENTS)
@require_http_methods(["GET", "POST"])
def student_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    student = selectors.get_student(principal=principal, code=code)
    if not selectors.covers(principal=principal, student=student, cap=Cap.EDIT_STUDENTS):
        raise PermissionDenied
    form = StudentForm(request.POST if request.method == "POST" else None, instance=student)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_student(actor=request.user, student=student, **form.changes())
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="new_id_number")
            student.refresh_from_db()
        else:
            messages.success(request, _("The student record was saved."))
            return redirect("people:student-detail", code=student.code)
    context = {
        "form": form,
        "student": student,
        "masked_number": selectors.mask_student_number(student.student_number),
    }
    return render(request, "people/student_form.html", context)


@requires(Cap.VIEW_STAFF)
def staff_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.staff_units(principal=principal, limit=SELECT_LIMIT + 1)
    many = len(units) > SELECT_LIMIT
    form = StaffFilterForm(request.GET or None, units=None if many else units, principal=principal)
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    chosen = cleaned.get("unit")  # a unit of the scope (picker) or its code (drop-down)
    unit = chosen if many else next((u for u in units if str(u.code) == chosen), None)
    staff = selectors.list_staff(
        principal=principal,
        position=cleaned.get("position", ""),
        unit=unit,
        text=cleaned.get("q", ""),
    )
    page = Paginator(staff, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "ratios": selectors.psychology_ratio(principal=principal),
        "ratio": selectors.PSYCHOLOGY_RATIO,
        "can_edit": principal.can(Cap.EDIT_STAFF),
    }
    return render(request, "people/staff_list.html", context)
