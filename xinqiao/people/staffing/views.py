"""Staff pages: add, detail, edit, posts (add, end), qualifications, leaving, invitations, and
the coverage arrangements of small schools. Thin: forms → services; records come through
staffing.selectors (the access layer)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.access.staffing import invite_staff, staff_leaves
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import Kind

from ..models import CoverageArrangement, StaffPosition
from . import selectors, services
from .forms import (
    CoverageForm,
    EndForm,
    InviteForm,
    NewStaffForm,
    PositionForm,
    QualificationForm,
    StaffForm,
)


def _edit(request: PrincipalRequest, code: Any) -> Any:
    return selectors.get_staff(principal=request.principal, code=code, cap=Cap.EDIT_STAFF)


@requires(Cap.EDIT_STAFF)
def staff_add(request: PrincipalRequest) -> HttpResponse:
    units = selectors.editable_units(principal=request.principal)
    form = NewStaffForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        position = data["position"]
        try:
            staff = services.create_staff_record(
                actor=request.user,
                name=data["name"],
                org_unit=data["org_unit"],
                gender=data["gender"],
                phone=data["phone"],
                staff_number=data["staff_number"],
                employment_status=data["employment_status"],
                positions=[(position, None, data["start_date"])] if position else [],
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The staff record was added."))
            return redirect("staff:detail", code=staff.code)
    return render(request, "staff/form.html", {"form": form, "staff": None})


@requires(Cap.VIEW_STAFF)
def staff_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    staff = selectors.get_staff(principal=request.principal, code=code)
    editable = selectors.can_edit(principal=request.principal, staff=staff)
    context: dict[str, Any] = {"staff": staff, "editable": editable}
    if editable:
        units = selectors.editable_units(principal=request.principal)
        class_units = request.principal.units(Cap.EDIT_STAFF).filter(
            path__startswith=staff.org_unit.path, kind__in=[Kind.CLASS, Kind.GRADE]
        )
        context.update(
            position_form=PositionForm(units=(units | class_units).order_by("path")),
            qualification_form=QualificationForm(),
            end_form=EndForm(),
            invite_form=InviteForm(unit_kind=staff.org_unit.kind),
            invitation=selectors.open_invitation_of(staff),
        )
    return render(request, "staff/detail.html", context)


@requires(Cap.EDIT_STAFF)
def staff_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    staff = _edit(request, code)
    units = selectors.editable_units(principal=request.principal)
    initial = {f: getattr(staff, f) for f in services.STAFF_FIELDS}
    form = StaffForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_staff(actor=request.user, staff=staff, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The staff record was saved."))
            return redirect("staff:detail", code=staff.code)
    return render(request, "staff/form.html", {"form": form, "staff": staff})


@requires(Cap.EDIT_STAFF)
@require_POST
def position_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    staff = _edit(request, code)
    units = selectors.editable_units(principal=request.principal)
    class_units = request.principal.units(Cap.EDIT_STAFF).filter(
        path__startswith=staff.org_unit.path, kind__in=[Kind.CLASS, Kind.GRADE]
    )
    form = PositionForm(request.POST, units=(units | class_units))
    if form.is_valid():
        try:
            services.add_position(actor=request.user, staff=staff, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The post was added."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("staff:detail", code=staff.code)


@requires(Cap.EDIT_STAFF)
@require_POST
def position_end(request: PrincipalRequest, code: Any, pk: int) -> HttpResponse:
    staff = _edit(request, code)
    post = StaffPosition.objects.filter(staff=staff, pk=pk).select_related("staff").first()
    if post is None:
        raise Http404
    form = EndForm(request.POST)
    if form.is_valid():
        try:
            services.end_position(
                actor=request.user, post=post, end_date=form.cleaned_data["end_date"]
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The post was ended."))
    return redirect("staff:detail", code=staff.code)


@requires(Cap.EDIT_STAFF)
@require_POST
def qualification_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    staff = _edit(request, code)
    form = QualificationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_qualification(actor=request.user, staff=staff, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The qualification was added."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("staff:detail", code=staff.code)


@requires(Cap.EDIT_STAFF)
def staff_leave(request: PrincipalRequest, code: Any) -> HttpResponse:
    staff = _edit(request, code)
    form = EndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff_leaves(actor=request.user, staff=staff, on=form.cleaned_data["end_date"])
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The leaving was recorded; every post and role ended."))
            return redirect("staff:detail", code=staff.code)
    return render(request, "staff/leave.html", {"staff": staff, "form": form})


@requires(Cap.EDIT_STAFF)
@require_POST
def staff_invite(request: PrincipalRequest, code: Any) -> HttpResponse:
    """Makes an invitation and shows its link and code once (only its hash is stored)."""
    staff = _edit(request, code)
    form = InviteForm(request.POST, unit_kind=staff.org_unit.kind)
    if not form.is_valid():
        raise PermissionDenied
    try:
        invitation, token = invite_staff(
            actor=request.user, staff=staff, role=form.cleaned_data["role"]
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("staff:detail", code=staff.code)
    link = request.build_absolute_uri(reverse("account:invitation", args=[token]))
    context = {"staff": staff, "invitation": invitation, "token": token, "link": link}
    response = render(request, "staff/invitation.html", context)
    response["Cache-Control"] = "no-store"
    return response


# --- coverage arrangements -----------------------------------------------------------------------
@requires(Cap.VIEW_STAFF)
def coverage_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    context = {
        "schools": selectors.school_coverage(principal=principal),
        "districts": selectors.district_coverage(principal=principal),
        "arrangements": selectors.arrangements(principal=principal)[:200],
        "editable": principal.can(Cap.EDIT_STAFF),
    }
    return render(request, "staff/coverage.html", context)


@requires(Cap.EDIT_STAFF)
def coverage_add(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.editable_units(principal=principal)
    supporters = principal.units(Cap.VIEW_STAFF).filter(
        kind__in=[Kind.SCHOOL, Kind.STATION, Kind.CENTRE], is_active=True
    )
    form = CoverageForm(
        request.POST or None,
        schools=units.filter(kind=Kind.SCHOOL),
        supporters=supporters.order_by("path"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.arrange_coverage(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The coverage arrangement was recorded."))
            return redirect("staff:coverage")
    return render(request, "staff/coverage_form.html", {"form": form})


@requires(Cap.EDIT_STAFF)
@require_POST
def coverage_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    arrangement = selectors.arrangements(principal=principal).filter(code=code).first()
    if arrangement is None:
        raise Http404
    if not principal.sees_unit(arrangement.school, Cap.EDIT_STAFF):
        raise PermissionDenied
    try:
        services.end_coverage(actor=request.user, arrangement=arrangement)
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("staff:coverage")


__all__ = ["CoverageArrangement"]
