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
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.access.staffing import invite_staff, staff_leaves
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import Kind

from ..importer.files import read as read_sealed
from ..models import CoverageArrangement, Qualification, StaffPosition
from . import selectors, services
from .forms import (
    CoverageEditForm,
    CoverageForm,
    EndForm,
    InviteForm,
    NewStaffForm,
    PositionForm,
    QualificationForm,
    StaffForm,
)

SCAN_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}


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


def _qualification(staff: Any, code: Any) -> Qualification:
    qualification = Qualification.objects.filter(staff=staff, code=code).first()
    if qualification is None:
        raise Http404
    qualification.staff = staff
    return qualification


@requires(Cap.EDIT_STAFF)
@require_http_methods(["GET", "POST"])
def qualification_edit(request: PrincipalRequest, code: Any, qualification: Any) -> HttpResponse:
    staff = _edit(request, code)
    record = _qualification(staff, qualification)
    initial = {f: getattr(record, f) for f in services.QUALIFICATION_FIELDS}
    form = QualificationForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        upload = data.pop("file", None)
        try:
            services.update_qualification(
                actor=request.user, qualification=record, file=upload, **data
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The qualification was saved."))
            return redirect("staff:detail", code=staff.code)
    context = {"form": form, "staff": staff, "qualification": record}
    return render(request, "staff/qualification_form.html", context)


@requires(Cap.EDIT_STAFF)
@require_POST
def qualification_remove(request: PrincipalRequest, code: Any, qualification: Any) -> HttpResponse:
    staff = _edit(request, code)
    services.remove_qualification(
        actor=request.user, qualification=_qualification(staff, qualification)
    )
    messages.success(request, _("The qualification was removed."))
    return redirect("staff:detail", code=staff.code)


@requires(Cap.EDIT_STAFF)
def qualification_scan(request: PrincipalRequest, code: Any, qualification: Any) -> HttpResponse:
    """The decrypted scan, as an attachment, to those who edit the record (a certificate may
    show an ID number and a photo); every download is an audited read."""
    staff = _edit(request, code)
    record = _qualification(staff, qualification)
    stored = record.file.name or ""
    if not stored:
        raise Http404
    data = read_sealed(stored)
    record_read(
        actor=request.user,
        obj=record,
        fields=["file"],
        action="people.qualification.scan_viewed",
    )
    suffix = stored.rsplit(".", 1)[-1].lower() if "." in stored else ""
    response = HttpResponse(data, content_type=SCAN_TYPES.get(suffix, "application/octet-stream"))
    name = f"qualification-{record.code}.{suffix}" if suffix else f"qualification-{record.code}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


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


def _supporters(request: PrincipalRequest) -> Any:
    return request.principal.units(Cap.VIEW_STAFF).filter(
        kind__in=[Kind.SCHOOL, Kind.STATION, Kind.CENTRE], is_active=True
    )


@requires(Cap.EDIT_STAFF)
def coverage_add(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.editable_units(principal=principal)
    form = CoverageForm(
        request.POST or None,
        schools=units.filter(kind=Kind.SCHOOL),
        supporters=_supporters(request).order_by("path"),
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


def _arrangement(request: PrincipalRequest, code: Any) -> CoverageArrangement:
    """An arrangement of the user's staff scope (404 outside it) that they may change (403)."""
    principal = request.principal
    arrangement = selectors.arrangements(principal=principal).filter(code=code).first()
    if arrangement is None:
        raise Http404
    if not principal.sees_unit(arrangement.school, Cap.EDIT_STAFF):
        raise PermissionDenied
    return arrangement


@requires(Cap.EDIT_STAFF)
@require_http_methods(["GET", "POST"])
def coverage_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    arrangement = _arrangement(request, code)
    form = CoverageEditForm(
        request.POST or None,
        supporters=_supporters(request).order_by("path"),
        initial={f: getattr(arrangement, f) for f in services.COVERAGE_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_coverage(
                actor=request.user, arrangement=arrangement, **form.cleaned_data
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The coverage arrangement was saved."))
            return redirect("staff:coverage")
    context = {"form": form, "arrangement": arrangement}
    return render(request, "staff/coverage_form.html", context)


@requires(Cap.EDIT_STAFF)
@require_POST
def coverage_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    arrangement = _arrangement(request, code)
    try:
        services.end_coverage(actor=request.user, arrangement=arrangement)
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("staff:coverage")


__all__ = ["CoverageArrangement"]
