"""Workforce pages. Thin: selectors read through the access layer (404 outside the scope, 403
for the wrong role), services write and audit."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import Kind

from . import selectors, services
from .forms import (
    CommitteeForm,
    EndForm,
    EventForm,
    ExpertForm,
    MemberForm,
    RegistryForm,
    ResearchForm,
    TrainingForm,
)
from .models import RegistryKind

PAGE_SIZE = 50


def _year(request: PrincipalRequest) -> int:
    raw = request.GET.get("year", "")
    return (
        int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else selectors.current_school_year()
    )


# --- training (R13) ------------------------------------------------------------------------------
@requires(Cap.VIEW_WORKFORCE)
def training_summary(request: PrincipalRequest) -> HttpResponse:
    """The city's districts, a district's schools or a school's teachers for one school year."""
    principal = request.principal
    unit = selectors.summary_unit(principal=principal, code=request.GET.get("unit"))
    year = _year(request)
    context: dict[str, Any] = {
        "unit": unit,
        "year": year,
        "years": selectors.school_years(),
        "bounds": selectors.school_year_bounds(year),
        "can_edit": principal.sees_unit(unit, Cap.EDIT_TRAINING),
    }
    if unit.kind == Kind.SCHOOL:
        rows, tally = selectors.school_training(principal=principal, school=unit, year=year)
        context.update(teachers=rows, tally=tally)
    else:
        parts, tally = selectors.area_training(principal=principal, unit=unit, year=year)
        context.update(parts=parts, tally=tally)
    return render(request, "workforce/training_summary.html", context)


@requires(Cap.VIEW_WORKFORCE)
def staff_training(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    staff = selectors.get_staff(principal=principal, code=code)
    records = selectors.list_staff_training(principal=principal, staff=staff)
    context = {
        "staff": staff,
        "records": records,
        "can_edit": principal.sees_unit(staff.org_unit, Cap.EDIT_TRAINING),
    }
    return render(request, "workforce/staff_training.html", context)


@requires(Cap.EDIT_TRAINING)
@require_http_methods(["GET", "POST"])
def training_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    staff = selectors.get_staff(principal=request.principal, code=code, cap=Cap.EDIT_TRAINING)
    form = TrainingForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_training(actor=request.user, staff=staff, **data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="course")
        else:
            messages.success(request, _("The training record was saved."))
            return redirect("workforce:staff-training", code=staff.code)
    return render(
        request, "workforce/training_form.html", {"form": form, "staff": staff, "record": None}
    )


@requires(Cap.EDIT_TRAINING)
@require_http_methods(["GET", "POST"])
def training_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    record = selectors.get_training(principal=request.principal, code=code, cap=Cap.EDIT_TRAINING)
    initial = {name: getattr(record, name) for name in services.TRAINING_FIELDS}
    form = TrainingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        certificate = data.pop("certificate", None)
        data["end_date"] = data["end_date"] or data["start_date"]
        try:
            services.update_training(record, actor=request.user, certificate=certificate, **data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="course")
        else:
            messages.success(request, _("The training record was saved."))
            return redirect("workforce:staff-training", code=record.staff.code)
    context = {"form": form, "staff": record.staff, "record": record}
    return render(request, "workforce/training_form.html", context)


@requires(Cap.EDIT_TRAINING)
@require_POST
def training_remove(request: PrincipalRequest, code: Any) -> HttpResponse:
    record = selectors.get_training(principal=request.principal, code=code, cap=Cap.EDIT_TRAINING)
    staff_code = record.staff.code
    services.remove_training(record, actor=request.user)
    messages.success(request, _("The training record was removed."))
    return redirect("workforce:staff-training", code=staff_code)


@requires(Cap.VIEW_WORKFORCE)
def training_certificate(request: PrincipalRequest, code: Any) -> HttpResponse:
    from . import certificates

    record = selectors.get_training(principal=request.principal, code=code)
    if not record.certificate_storage:
        raise Http404
    data = certificates.read(record.certificate_storage)
    record_read(
        actor=request.user,
        obj=record,
        fields=["certificate"],
        action="workforce.training.certificate_viewed",
    )
    response = HttpResponse(data, content_type=record.certificate_type)
    response["Content-Disposition"] = f'attachment; filename="certificate-{record.code}"'
    return response


# --- research activities (R17) -------------------------------------------------------------------
def _research_form(request: PrincipalRequest, **kwargs: Any) -> ResearchForm:
    principal = request.principal
    activity = kwargs.pop("activity", None)
    districts = selectors.districts(principal=principal, cap=Cap.EDIT_WORKFORCE)
    return ResearchForm(
        request.POST or None,
        districts=districts,
        principal=principal,
        keep=activity.participants.all() if activity is not None else None,
        fixed_district=activity is not None,
        **kwargs,
    )


@requires(Cap.VIEW_WORKFORCE)
def research_indicator(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    unit = selectors.research_unit(principal=principal, code=request.GET.get("unit"))
    year = _year(request)
    months, rows = selectors.research_indicator(principal=principal, unit=unit, year=year)
    district = unit if unit.kind == Kind.DISTRICT else None
    activities = selectors.list_research(principal=principal, district=district, year=year)
    page = Paginator(activities, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "unit": unit,
        "year": year,
        "years": selectors.school_years(),
        "months": months,
        "rows": rows,
        "page": page,
        "can_edit": principal.can(Cap.EDIT_WORKFORCE),
    }
    return render(request, "workforce/research_indicator.html", context)


@requires(Cap.EDIT_WORKFORCE)
@require_http_methods(["GET", "POST"])
def research_create(request: PrincipalRequest) -> HttpResponse:
    form = _research_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.record_research_activity(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="theme")
        else:
            messages.success(request, _("The research activity was saved."))
            return redirect("workforce:research-detail", code=activity.code)
    return render(request, "workforce/research_form.html", {"form": form, "activity": None})


@requires(Cap.VIEW_WORKFORCE)
def research_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    activity = selectors.get_research(principal=principal, code=code)
    participants = activity.participants.select_related("org_unit").order_by("name")
    context = {
        "activity": activity,
        "participants": participants,
        "can_edit": principal.sees_unit(activity.district, Cap.EDIT_WORKFORCE),
    }
    return render(request, "workforce/research_detail.html", context)


@requires(Cap.EDIT_WORKFORCE)
@require_http_methods(["GET", "POST"])
def research_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    activity = selectors.get_research(
        principal=request.principal, code=code, cap=Cap.EDIT_WORKFORCE
    )
    initial = {
        "date": activity.date,
        "theme": activity.theme,
        "organiser": activity.organiser,
        "notes": activity.notes,
        "participants": list(activity.participants.all()),
    }
    form = _research_form(request, activity=activity, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_research_activity(activity, actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="theme")
        else:
            messages.success(request, _("The research activity was saved."))
            return redirect("workforce:research-detail", code=activity.code)
    return render(request, "workforce/research_form.html", {"form": form, "activity": activity})


@requires(Cap.EDIT_WORKFORCE)
@require_POST
def research_remove(request: PrincipalRequest, code: Any) -> HttpResponse:
    activity = selectors.get_research(
        principal=request.principal, code=code, cap=Cap.EDIT_WORKFORCE
    )
    services.remove_research_activity(activity, actor=request.user)
    messages.success(request, _("The research activity was removed."))
    return redirect("workforce:research-indicator")


# --- registries (R14) ----------------------------------------------------------------------------
@requires(Cap.VIEW_WORKFORCE)
def registry_list(request: PrincipalRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in RegistryKind.values:
        kind = ""
    items = selectors.list_registries(principal=request.principal, kind=kind)
    context = {
        "page": Paginator(items, PAGE_SIZE).get_page(request.GET.get("page")),
        "kind": kind,
        "kinds": RegistryKind.choices,
        "can_edit": request.principal.can(Cap.EDIT_WORKFORCE),
    }
    return render(request, "workforce/registry_list.html", context)


@requires(Cap.EDIT_WORKFORCE)
@require_http_methods(["GET", "POST"])
def registry_create(request: PrincipalRequest) -> HttpResponse:
    owners = selectors.owner_units(principal=request.principal, cap=Cap.EDIT_WORKFORCE)
    form = RegistryForm(
        request.POST or None, owners=owners, initial={"kind": request.GET.get("kind")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            registry = services.create_registry(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="name")
        else:
            messages.success(request, _("Saved."))
            return redirect("workforce:registry-detail", code=registry.code)
    return render(request, "workforce/registry_form.html", {"form": form, "registry": None})


@requires(Cap.VIEW_WORKFORCE)
def registry_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    registry = selectors.get_registry(principal=request.principal, code=code)
    return _registry_page(request, registry)


def _registry_page(
    request: PrincipalRequest, registry: Any, member_form: MemberForm | None = None
) -> HttpResponse:
    """The registry's page; `member_form` is a bound form that came back (errors, or a search
    without JavaScript)."""
    principal = request.principal
    can_edit = principal.sees_unit(registry.owner, Cap.EDIT_WORKFORCE)
    context = {
        "registry": registry,
        "members": selectors.registry_members(registry),
        "events": registry.events.all(),
        "can_edit": can_edit,
        "member_form": (member_form or MemberForm(principal=principal)) if can_edit else None,
        "event_form": EventForm() if can_edit else None,
    }
    return render(request, "workforce/registry_detail.html", context)


@requires(Cap.EDIT_WORKFORCE)
@require_http_methods(["GET", "POST"])
def registry_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    registry = selectors.get_registry(
        principal=request.principal, code=code, cap=Cap.EDIT_WORKFORCE
    )
    initial = {
        "name": registry.name,
        "description": registry.description,
        "start_date": registry.start_date,
        "end_date": registry.end_date,
    }
    form = RegistryForm(request.POST or None, owners=None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_registry(registry, actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="name")
        else:
            messages.success(request, _("Saved."))
            return redirect("workforce:registry-detail", code=registry.code)
    return render(request, "workforce/registry_form.html", {"form": form, "registry": registry})


@requires(Cap.EDIT_WORKFORCE)
@require_POST
def registry_member_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    registry = selectors.get_registry(principal=principal, code=code, cap=Cap.EDIT_WORKFORCE)
    form = MemberForm(request.POST, principal=principal)
    if form.is_valid():
        try:
            services.add_registry_member(registry, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc, default_field="staff")
        else:
            messages.success(request, _("Saved."))
            return redirect("workforce:registry-detail", code=registry.code)
    return _registry_page(request, registry, member_form=form)


@requires(Cap.EDIT_WORKFORCE)
@require_POST
def registry_member_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    member = selectors.get_registry_member(principal=request.principal, code=code)
    form = EndForm(request.POST)
    end = form.cleaned_data.get("end_date") if form.is_valid() else None
    try:
        services.end_registry_member(member, actor=request.user, end_date=end)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The membership was ended."))
    return redirect("workforce:registry-detail", code=member.registry.code)


@requires(Cap.EDIT_WORKFORCE)
@require_POST
def registry_event_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    registry = selectors.get_registry(
        principal=request.principal, code=code, cap=Cap.EDIT_WORKFORCE
    )
    form = EventForm(request.POST)
    if form.is_valid():
        services.add_registry_event(registry, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Saved."))
    else:
        messages.error(request, _("Give the event a date and a title."))
    return redirect("workforce:registry-detail", code=registry.code)


# --- expert pool ---------------------------------------------------------------------------------
@requires(Cap.VIEW_WORKFORCE)
def expert_list(request: PrincipalRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:60]
    committee = request.GET.get("committee") == "1"
    items = selectors.list_experts(principal=request.principal, text=text, committee_only=committee)
    context = {
        "page": Paginator(items, PAGE_SIZE).get_page(request.GET.get("page")),
        "q": text,
        "committee": committee,
        "can_edit": request.principal.can(Cap.MANAGE_EXPERTS),
    }
    return render(request, "workforce/expert_list.html", context)


@requires(Cap.MANAGE_EXPERTS)
@require_http_methods(["GET", "POST"])
def expert_create(request: PrincipalRequest) -> HttpResponse:
    owners = selectors.owner_units(principal=request.principal, cap=Cap.MANAGE_EXPERTS)
    form = ExpertForm(request.POST or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        try:
            expert = services.create_expert(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="name")
        else:
            messages.success(request, _("Saved."))
            return redirect("workforce:expert-detail", code=expert.code)
    return render(request, "workforce/expert_form.html", {"form": form, "expert": None})


@requires(Cap.VIEW_WORKFORCE)
def expert_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    expert = selectors.get_expert(principal=principal, code=code)
    can_edit = principal.sees_unit(expert.owner, Cap.MANAGE_EXPERTS)
    context = {
        "expert": expert,
        "terms": expert.committee_terms.all(),
        "can_edit": can_edit,
        "committee_form": CommitteeForm() if can_edit else None,
        "invitation": selectors.open_expert_invitation_of(expert) if can_edit else None,
    }
    return render(request, "workforce/expert_detail.html", context)


@requires(Cap.MANAGE_EXPERTS)
@require_POST
def expert_invite(request: PrincipalRequest, code: Any) -> HttpResponse:
    """Makes an account invitation for a pool expert and shows its link and code once."""
    from django.urls import reverse

    expert = selectors.get_expert(principal=request.principal, code=code, cap=Cap.MANAGE_EXPERTS)
    try:
        invitation, token = services.invite_expert_account(expert, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("workforce:expert-detail", code=expert.code)
    link = request.build_absolute_uri(reverse("account:invitation", args=[token]))
    context = {"expert": expert, "invitation": invitation, "token": token, "link": link}
    response = render(request, "workforce/expert_invitation.html", context)
    response["Cache-Control"] = "no-store"
    return response


@requires(Cap.MANAGE_EXPERTS)
@require_http_methods(["GET", "POST"])
def expert_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    expert = selectors.get_expert(principal=request.principal, code=code, cap=Cap.MANAGE_EXPERTS)
    initial = {name: getattr(expert, name) for name in services.EXPERT_FIELDS if name != "user"}
    form = ExpertForm(request.POST or None, owners=None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_expert(expert, actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, default_field="name")
        else:
            messages.success(request, _("Saved."))
            return redirect("workforce:expert-detail", code=expert.code)
    return render(request, "workforce/expert_form.html", {"form": form, "expert": expert})


@requires(Cap.MANAGE_EXPERTS)
@require_POST
def expert_committee_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    expert = selectors.get_expert(principal=request.principal, code=code, cap=Cap.MANAGE_EXPERTS)
    form = CommitteeForm(request.POST)
    if form.is_valid():
        try:
            services.seat_on_committee(expert, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved."))
    else:
        messages.error(request, _("Choose a role and a start date."))
    return redirect("workforce:expert-detail", code=expert.code)


@requires(Cap.MANAGE_EXPERTS)
@require_POST
def expert_committee_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    expert = selectors.get_expert(principal=request.principal, code=code, cap=Cap.MANAGE_EXPERTS)
    term = expert.committee_terms.filter(end_date__isnull=True).first()
    if term is None:
        raise Http404
    form = EndForm(request.POST)
    end = form.cleaned_data.get("end_date") if form.is_valid() else None
    try:
        services.end_committee_term(term, actor=request.user, end_date=end)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The committee term was ended."))
    return redirect("workforce:expert-detail", code=expert.code)
