"""Crisis teams, emergency plans, drills, a campaign's arrangement and the helpline directory.
Thin: selectors read through the access layer (404 outside what the user sees, 403 for the wrong
role or a row they see but do not keep), services write and audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.screening import selectors as screening_selectors
from xinqiao.screening import services as screening_services

from . import documents, selectors, services
from .forms import (
    ArrangementForm,
    DrillForm,
    EndMemberForm,
    HotlineForm,
    MemberForm,
    PlanForm,
    TeamForm,
    VersionForm,
)
from .models import EmergencyPlan

FORM_TEMPLATE = "emergency/form.html"


def _call(form: forms.BaseForm, call: Callable[[], Any], **kwargs: Any) -> Any:
    try:
        return call()
    except (DomainError, ValidationError) as exc:
        apply_service_error(form, exc, **kwargs)
        return None


def _form_page(
    request: PrincipalRequest, form: forms.BaseForm, *, title: str, back: str, **extra: Any
) -> HttpResponse:
    context = {"form": form, "title": title, "back": back, **extra}
    status = 400 if request.method == "POST" else 200
    return render(request, FORM_TEMPLATE, context, status=status)


# --- the overview ---------------------------------------------------------------------------------
@requires(Cap.VIEW_EMERGENCY)
def home(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    context = {
        "teams": selectors.list_teams(principal=principal),
        "plans": selectors.list_plans(principal=principal),
        "drills": selectors.list_drills(principal=principal)[:20],
        "can_keep": principal.can(Cap.EDIT_EMERGENCY),
        "team_units": [
            g.area
            for g in principal.grants_with(Cap.EDIT_EMERGENCY)
            if g.area.kind in services.TEAM_UNIT_KINDS
        ],
    }
    return render(request, "emergency/home.html", context)


# --- teams ----------------------------------------------------------------------------------------
@requires(Cap.EDIT_EMERGENCY)
@require_http_methods(["GET", "POST"])
def team_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = request.principal.get_unit(code, Cap.EDIT_EMERGENCY)
    if unit.kind not in services.TEAM_UNIT_KINDS:
        raise Http404
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = _call(
            form,
            lambda: services.create_team(actor=request.user, unit=unit, **form.cleaned_data),
        )
        if team is not None:
            messages.success(request, _("The team was added."))
            return redirect("emergency:team-detail", code=team.code)
    title = _("New crisis-intervention team of %(unit)s") % {"unit": unit.name}
    return _form_page(request, form, title=title, back="emergency:home")


@requires(Cap.VIEW_EMERGENCY)
def team_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    team = selectors.get_team(principal=principal, code=code)
    can_keep = selectors.can_keep(principal, team.unit)
    members = selectors.team_members(team=team)
    context = {
        "team": team,
        "current": [m for m in members if m.is_current],
        "past": [m for m in members if not m.is_current],
        "can_keep": can_keep,
        "end_form": EndMemberForm(),
        "campaigns": selectors.campaigns_under(team=team),
    }
    return render(request, "emergency/team_detail.html", context)


@requires(Cap.EDIT_EMERGENCY)
@require_http_methods(["GET", "POST"])
def team_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    team = selectors.get_team(principal=request.principal, code=code, keep=True)
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team.refresh_from_db()
        if _call(form, lambda: services.update_team(actor=request.user, team=team, **data)):
            messages.success(request, _("The changes were saved."))
            return redirect("emergency:team-detail", code=team.code)
    return _form_page(request, form, title=team.name, back="emergency:home")


@requires(Cap.EDIT_EMERGENCY)
@require_http_methods(["GET", "POST"])
def member_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    team = selectors.get_team(principal=principal, code=code, keep=True)
    staff = selectors.staff_choices(principal=principal, unit=team.unit)
    form = MemberForm(request.POST or None, staff=staff)
    if request.method == "POST" and form.is_valid():
        member = _call(
            form,
            lambda: services.add_member(actor=request.user, team=team, **form.cleaned_data),
        )
        if member is not None:
            messages.success(request, _("The member was added."))
            return redirect("emergency:team-detail", code=team.code)
    title = _("Add a member to %(team)s") % {"team": team.name}
    return _form_page(request, form, title=title, back="emergency:home")


@require_POST
@requires(Cap.EDIT_EMERGENCY)
def member_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    member = selectors.get_member(principal=request.principal, code=code)
    form = EndMemberForm(request.POST)
    if form.is_valid():
        ended = _call(
            form,
            lambda: services.end_member(
                actor=request.user, member=member, ended_on=form.cleaned_data["ended_on"]
            ),
        )
        if ended is not None:
            messages.success(request, _("The membership was ended."))
            return redirect("emergency:team-detail", code=member.team.code)
    for error in form.errors.values():
        messages.error(request, " ".join(str(e) for e in error))
    return redirect("emergency:team-detail", code=member.team.code)


# --- plans ----------------------------------------------------------------------------------------
@requires(Cap.EDIT_EMERGENCY)
@require_http_methods(["GET", "POST"])
def plan_create(request: PrincipalRequest) -> HttpResponse:
    units = selectors.keepable_units(principal=request.principal)
    form = PlanForm(request.POST or None, request.FILES or None, units=units)
    if request.method == "POST" and form.is_valid():
        plan = _call(
            form,
            lambda: services.create_plan(actor=request.user, **form.cleaned_data),
        )
        if plan is not None:
            messages.success(request, _("The plan was added."))
            return redirect("emergency:plan-detail", code=plan.code)
    return _form_page(request, form, title=_("New emergency plan"), back="emergency:home")


@requires(Cap.VIEW_EMERGENCY)
def plan_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    plan = selectors.get_plan(principal=principal, code=code)
    context = {
        "plan": plan,
        "versions": selectors.plan_versions(plan=plan),
        "drills": selectors.list_drills(principal=principal, plan=plan),
        "campaigns": selectors.campaigns_under(plan=plan),
        "can_keep": selectors.can_keep(principal, plan.unit),
    }
    return render(request, "emergency/plan_detail.html", context)


@requires(Cap.EDIT_EMERGENCY)
@require_http_methods(["GET", "POST"])
def version_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    plan = selectors.get_plan(principal=request.principal, code=code, keep=True)
    form = VersionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        version = _call(
            form,
            lambda: services.add_version(actor=request.user, plan=plan, **form.cleaned_data),
        )
        if version is not None:
            messages.success(
                request, _("Version %(number)s was added.") % {"number": version.number}
            )
            return redirect("emergency:plan-detail", code=plan.code)
    title = _("New version of %(plan)s") % {"plan": plan.title}
    return _form_page(request, form, title=title, back="emergency:home")


@requires(Cap.VIEW_EMERGENCY)
def version_download(request: PrincipalRequest, code: Any) -> HttpResponse:
    version = selectors.get_version(principal=request.principal, code=code)
    response = HttpResponse(documents.read(version.storage_name), content_type=version.content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(version)}"
    return response


def _quote(version: Any) -> str:
    from urllib.parse import quote

    return quote(version.original_name)


@require_POST
@requires(Cap.EDIT_EMERGENCY)
def plan_in_force(request: PrincipalRequest, code: Any) -> HttpResponse:
    plan = selectors.get_plan(principal=request.principal, code=code, keep=True)
    services.set_plan_in_force(
        actor=request.user, plan=plan, in_force=request.POST.get("in_force") == "1"
    )
    return redirect("emergency:plan-detail", code=plan.code)


# --- drills ---------------------------------------------------------------------------------------
@requires(Cap.EDIT_EMERGENCY)
@require_http_methods(["GET", "POST"])
def drill_create(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.keepable_units(principal=principal)
    plans = EmergencyPlan.objects.filter(selectors.kept_q(principal), is_active=True)
    form = DrillForm(
        request.POST or None,
        units=units,
        plans=plans.select_related("unit").order_by("unit__path", "title"),
    )
    if request.method == "POST" and form.is_valid():
        drill = _call(
            form,
            lambda: services.record_drill(actor=request.user, **form.cleaned_data),
        )
        if drill is not None:
            messages.success(request, _("The drill was recorded."))
            if drill.plan is not None:
                return redirect("emergency:plan-detail", code=drill.plan.code)
            return redirect("emergency:home")
    return _form_page(request, form, title=_("Record a drill"), back="emergency:home")


# --- a major-event campaign -----------------------------------------------------------------------
@requires(Cap.MANAGE_CAMPAIGNS)
@require_http_methods(["GET", "POST"])
def campaign_arrange(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    campaign = screening_selectors.get_campaign(principal, code, Cap.MANAGE_CAMPAIGNS)
    if campaign.kind not in services.MAJOR_EVENT_KINDS:
        raise PermissionDenied
    if not screening_services.can_manage(request.user, campaign.owner_unit):
        raise PermissionDenied
    form = ArrangementForm(
        request.POST or None,
        plans=selectors.list_plans(principal=principal).filter(is_active=True),
        teams=selectors.list_teams(principal=principal),
    )
    current = selectors.arrangement_of(campaign=campaign)
    if request.method == "POST" and form.is_valid():
        done = _call(
            form,
            lambda: services.arrange_campaign(
                actor=request.user, campaign=campaign, **form.cleaned_data
            ),
        )
        if done is not None:
            messages.success(request, _("The campaign's plan and team were recorded."))
            return redirect("screening:campaign-detail", code=campaign.code)
    title = _("Plan and team of %(campaign)s") % {"campaign": campaign.name}
    return _form_page(request, form, title=title, back="emergency:home", current=current)


# --- the helpline directory -----------------------------------------------------------------------
@requires(Cap.EDIT_HOTLINES)
def hotline_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    lines = list(selectors.list_hotlines(principal=principal))
    for line in lines:
        line.editable = selectors.can_edit_hotline(principal, line)  # type: ignore[attr-defined]
    context = {"lines": lines, "units": selectors.hotline_units(principal=principal)}
    return render(request, "emergency/hotline_list.html", context)


@requires(Cap.EDIT_HOTLINES)
@require_http_methods(["GET", "POST"])
def hotline_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = request.principal.get_unit(code, Cap.EDIT_HOTLINES)
    if unit.kind not in services.HOTLINE_UNIT_KINDS:
        raise Http404
    form = HotlineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        line = _call(
            form,
            lambda: services.add_hotline(actor=request.user, unit=unit, **form.cleaned_data),
        )
        if line is not None:
            messages.success(request, _("The helpline was added."))
            return redirect("emergency:hotline-list")
    title = _("New helpline of %(unit)s") % {"unit": unit.name}
    return _form_page(request, form, title=title, back="emergency:hotline-list")


@requires(Cap.EDIT_HOTLINES)
@require_http_methods(["GET", "POST"])
def hotline_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    line = selectors.get_hotline(principal=request.principal, code=code)
    form = HotlineForm(request.POST or None, instance=line)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        line.refresh_from_db()
        if _call(form, lambda: services.update_hotline(actor=request.user, hotline=line, **data)):
            messages.success(request, _("The changes were saved."))
            return redirect("emergency:hotline-list")
    return _form_page(request, form, title=line.name, back="emergency:hotline-list")


@require_POST
@requires(Cap.EDIT_HOTLINES)
def hotline_active(request: PrincipalRequest, code: Any) -> HttpResponse:
    line = selectors.get_hotline(principal=request.principal, code=code)
    try:
        services.set_hotline_active(
            actor=request.user, hotline=line, active=request.POST.get("active") == "1"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("emergency:hotline-list")
