"""Student list and profile, student editing, staff list. Thin: selectors read through the access
layer (404 outside the scope, 403 for the wrong role), services write and audit."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access import invitations
from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import Kind, OrgUnit

from . import selectors, services
from .forms import (
    SELECT_LIMIT,
    CircumstanceForm,
    CommitteeAppointForm,
    EndForm,
    GroupMemberForm,
    GuardianForm,
    StaffFilterForm,
    StudentFilterForm,
    StudentForm,
)
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
    "family_circumstances",
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
    context = {
        "form": form,
        "page": page,
        "can_import_guardians": principal.can(Cap.MANAGE_FAMILIES),
        "can_import_committee": principal.can(Cap.MANAGE_COMMITTEE),
    }
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


# --- class committee (R5) -----------------------------------------------------------------------
def _current_term_or_404() -> Any:
    from xinqiao.orgs.selectors import current_term

    term = current_term()
    if term is None:
        raise Http404
    return term


@requires(Cap.MANAGE_COMMITTEE)
@require_http_methods(["GET", "POST"])
def committee(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A class's committee this term: appoint, replace, end; the boy-and-girl warning."""
    principal = request.principal
    school_class = principal.get_unit(code, Cap.MANAGE_COMMITTEE)
    if school_class.kind != Kind.CLASS:
        raise Http404
    term = _current_term_or_404()
    page = selectors.committee_page(principal=principal, school_class=school_class, term=term)
    form = CommitteeAppointForm(
        request.POST if request.method == "POST" else None, candidates=page.candidates
    )
    if request.method == "POST" and form.is_valid():
        try:
            _member, slip = invitations.appoint_committee_member(
                actor=request.user, student=form.cleaned_data["student"], term=term
            )
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="student")
        else:
            messages.success(request, _("The committee member was appointed."))
            if slip is not None:
                return _slip(request, slip, school_class=school_class)
            return redirect("people:committee", code=school_class.code)
    context = {"unit": school_class, "term": term, "page": page, "form": form}
    return render(request, "people/committee.html", context)


def _slip(request: PrincipalRequest, slip: invitations.Slip, **context: Any) -> HttpResponse:
    """The printable one-time code: shown once, never stored in clear."""
    response = render(request, "people/invitation_slip.html", {"slip": slip, **context})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@requires(Cap.MANAGE_COMMITTEE)
def committee_end(request: PrincipalRequest, pk: int) -> HttpResponse:
    member = selectors.get_committee_member(
        principal=request.principal, pk=pk, cap=Cap.MANAGE_COMMITTEE
    )
    try:
        invitations.end_committee_member(actor=request.user, member=member)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The appointment was ended."))
    return redirect("people:committee", code=member.school_class.code)


@require_POST
@requires(Cap.MANAGE_COMMITTEE)
def committee_replace(request: PrincipalRequest, pk: int) -> HttpResponse:
    principal = request.principal
    member = selectors.get_committee_member(principal=principal, pk=pk, cap=Cap.MANAGE_COMMITTEE)
    page = selectors.committee_page(
        principal=principal, school_class=member.school_class, term=member.term
    )
    form = CommitteeAppointForm(request.POST, candidates=page.candidates)
    if not form.is_valid():
        messages.error(request, _("Choose a student of the class."))
        return redirect("people:committee", code=member.school_class.code)
    try:
        _new, slip = invitations.replace_committee_member(
            actor=request.user, member=member, successor=form.cleaned_data["student"]
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("people:committee", code=member.school_class.code)
    messages.success(request, _("The committee member was replaced."))
    if slip is not None:
        return _slip(request, slip, school_class=member.school_class)
    return redirect("people:committee", code=member.school_class.code)


@require_POST
@requires(Cap.MANAGE_COMMITTEE)
def committee_slip(request: PrincipalRequest, pk: int) -> HttpResponse:
    member = selectors.get_committee_member(
        principal=request.principal, pk=pk, cap=Cap.MANAGE_COMMITTEE
    )
    try:
        slip = invitations.reissue_committee_slip(actor=request.user, member=member)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("people:committee", code=member.school_class.code)
    return _slip(request, slip, school_class=member.school_class)


# --- the three school groups (R27) --------------------------------------------------------------
@requires(Cap.MANAGE_SCHOOL_GROUPS)
@require_http_methods(["GET", "POST"])
def school_groups(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    school = principal.get_unit(code, Cap.MANAGE_SCHOOL_GROUPS)
    if school.kind != Kind.SCHOOL:
        raise Http404
    staff = list(selectors.school_staff(school=school))
    form = GroupMemberForm(request.POST if request.method == "POST" else None, staff=staff)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_group_member(
                actor=request.user,
                school=school,
                kind=data["kind"],
                staff=data["staff"],
                role=data["role"],
                duty=data["duty"],
                start_date=data["start_date"],
            )
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="staff")
        else:
            messages.success(request, _("The member was added to the group."))
            return redirect("people:school-groups", code=school.code)
    context = {
        "unit": school,
        "groups": selectors.school_groups(principal=principal, school=school),
        "history": selectors.group_history(school=school),
        "form": form,
    }
    return render(request, "people/school_groups.html", context)


@require_POST
@requires(Cap.MANAGE_SCHOOL_GROUPS)
def group_member_end(request: PrincipalRequest, pk: int) -> HttpResponse:
    membership = selectors.get_group_member(principal=request.principal, pk=pk)
    try:
        services.end_group_member(actor=request.user, membership=membership)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The membership was ended."))
    return redirect("people:school-groups", code=membership.group.school.code)


# --- guardians, family circumstances, parent invitations (R23, R26) -----------------------------
@requires(Cap.MANAGE_FAMILIES)
@require_http_methods(["GET", "POST"])
def guardian_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    student = selectors.get_family_student(principal=request.principal, code=code)
    form = GuardianForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_guardian(actor=request.user, student=student, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="name")
        else:
            messages.success(request, _("The guardian was added."))
            return redirect("people:student-detail", code=student.code)
    context = {"form": form, "student": student, "title": _("Add a guardian")}
    return render(request, "people/family_form.html", context)


@requires(Cap.MANAGE_FAMILIES)
@require_http_methods(["GET", "POST"])
def guardian_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    guardian = selectors.get_guardian(principal=request.principal, code=code)
    if not guardian.is_current:
        raise Http404
    initial = {f: getattr(guardian, f) for f in services.GUARDIAN_FIELDS}
    form = GuardianForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_guardian(actor=request.user, guardian=guardian, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="name")
        else:
            messages.success(request, _("The guardian was saved."))
            return redirect("people:student-detail", code=guardian.student.code)
    context = {"form": form, "student": guardian.student, "title": _("Edit a guardian")}
    return render(request, "people/family_form.html", context)


@require_POST
@requires(Cap.MANAGE_FAMILIES)
def guardian_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    guardian = selectors.get_guardian(principal=request.principal, code=code)
    form = EndForm(request.POST)
    end_date = form.cleaned_data.get("end_date") if form.is_valid() else None
    try:
        invitations.end_guardianship(actor=request.user, guardian=guardian, end_date=end_date)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The guardianship was ended."))
    return redirect("people:student-detail", code=guardian.student.code)


@require_POST
@requires(Cap.MANAGE_FAMILIES)
def guardian_invite(request: PrincipalRequest, code: Any) -> HttpResponse:
    guardian = selectors.get_guardian(principal=request.principal, code=code)
    try:
        slip = invitations.invite_parent(actor=request.user, guardian=guardian)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("people:student-detail", code=guardian.student.code)
    return _slip(request, slip, guardian=guardian, student=guardian.student)


@requires(Cap.MANAGE_FAMILIES)
@require_http_methods(["GET", "POST"])
def circumstance_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    student = selectors.get_family_student(principal=request.principal, code=code)
    form = CircumstanceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_circumstance(actor=request.user, student=student, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="kind")
        else:
            messages.success(request, _("The family circumstance was recorded."))
            return redirect("people:student-detail", code=student.code)
    context = {"form": form, "student": student, "title": _("Record a family circumstance")}
    return render(request, "people/family_form.html", context)


@require_POST
@requires(Cap.MANAGE_FAMILIES)
def circumstance_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    row = selectors.get_circumstance(principal=request.principal, code=code)
    form = EndForm(request.POST)
    end_date = form.cleaned_data.get("end_date") if form.is_valid() else None
    try:
        services.end_circumstance(actor=request.user, circumstance=row, end_date=end_date)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The family circumstance was ended."))
    return redirect("people:student-detail", code=row.student.code)
