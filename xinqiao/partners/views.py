"""Thin views of the partners app (docs/partners.md): each reads through the selectors (the access
layer's scope) and writes through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.alerts.models import Level
from xinqiao.analytics.disclosure import SMALL_CELL
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.core.ratelimit import allow

from . import selectors, services
from .forms import (
    DepartmentAccountForm,
    HospitalAreaForm,
    InviteExpertForm,
    OnlineTipForm,
    PlanAdviceForm,
)

NOTE = {"last_small": SMALL_CELL - 1}
TIP_LIMIT, TIP_WINDOW = 30, 3600  # online-monitoring tips sent per officer per hour


# --- department officers
@requires(Cap.VIEW_DEPARTMENT_FIGURES)
def department_home(request: PrincipalRequest) -> HttpResponse:
    areas = selectors.department_areas(principal=request.principal)
    columns = {
        "student_columns": [("students", _("Students"))],
        "case_columns": [
            *Level.choices,
            ("total", _("Total")),
        ],
        "care_columns": [
            ("followed", _("Followed as high-care")),
            ("not_followed", _("Not followed as high-care")),
            ("total", _("Total")),
        ],
    }
    can_file_tip = bool(selectors.monitoring_areas(principal=request.principal))
    context = {"areas": areas, "can_file_tip": can_file_tip, **columns, **NOTE}
    return render(request, "partners/department_home.html", context)


@requires(Cap.FILE_MONITORING_TIP)
def online_tip(request: PrincipalRequest) -> HttpResponse:
    """A 网信 officer files an online-monitoring tip; other departments' officers are refused.
    After filing, the page is blank again: nothing about the student comes back."""
    principal = request.principal
    if not selectors.monitoring_areas(principal=principal):
        raise PermissionDenied
    form = OnlineTipForm(request.POST or None, principal=principal)
    if request.method == "POST" and not allow(
        f"xq:online-tip:{request.user.pk}", limit=TIP_LIMIT, window=TIP_WINDOW
    ):  # guessing names and classes is slow: a tip takes a person's time, not a loop's
        return HttpResponse(_("Too many attempts. Try again later."), status=429)
    if request.method == "POST" and form.is_valid():
        try:
            services.file_online_tip(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Thank you. The tip was passed to the school."))
            return redirect("partners:online-tip")
    return render(request, "partners/online_tip.html", {"form": form})


@requires(Cap.MANAGE_DEPARTMENT_ACCOUNTS)
def department_accounts(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    form = DepartmentAccountForm(
        request.POST if request.method == "POST" else None, principal=principal
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.create_department_account(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            apply_service_error(form, error)
        else:
            messages.success(request, _("Department account created."))
            return redirect("partners:department-accounts")
    posts = selectors.department_posts(principal=principal)
    return render(
        request,
        "partners/department_accounts.html",
        {"posts": posts, "form": form},
        status=400 if form.is_bound else 200,
    )


@requires(Cap.MANAGE_DEPARTMENT_ACCOUNTS)
@require_POST
def department_account_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    post = selectors.get_department_post(principal=request.principal, code=code)
    try:
        services.end_department_post(actor=request.user, post=post)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Department account ended."))
    return redirect("partners:department-accounts")


# --- experts
@requires(Cap.VIEW_GRANTED_CASES)
def expert_home(request: PrincipalRequest) -> HttpResponse:
    grants = selectors.my_invitations(principal=request.principal)
    return render(request, "partners/expert_home.html", {"grants": grants})


@requires(Cap.VIEW_GRANTED_CASES)
def expert_case(request: PrincipalRequest, code: Any) -> HttpResponse:
    found = selectors.get_expert_case(principal=request.principal, code=code)
    record_read(
        actor=request.user,
        obj=found.case,
        fields=["student", "level", "plan", "follow_ups", "plan_advice"],
        action="partners.expert_case.viewed",
    )
    return render(request, "partners/expert_case.html", {"found": found})


def _case_experts_page(
    request: PrincipalRequest, case: Any, form: InviteExpertForm, status: int
) -> HttpResponse:
    return render(
        request,
        "partners/case_experts.html",
        {
            "case": case,
            "form": form,
            "grants": selectors.case_invitations(case),
            "advice": selectors.case_advice(case),
        },
        status=status,
    )


@requires(Cap.INVITE_EXPERTS)
def case_experts(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = selectors.case_for_inviting(principal=request.principal, code=code)
    form = InviteExpertForm(request.POST if request.method == "POST" else None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_expert(actor=request.user, case=case, **form.cleaned_data)
        except DomainError as error:
            apply_service_error(form, error)
        else:
            messages.success(request, _("Expert invited."))
            return redirect("partners:case-experts", code=case.code)
    record_read(
        actor=request.user,
        obj=case,
        fields=["expert_grants", "plan_advice"],
        action="partners.case_partners.viewed",
    )
    return _case_experts_page(request, case, form, 400 if form.is_bound else 200)


@requires(Cap.INVITE_EXPERTS)
@require_POST
def expert_revoke(request: PrincipalRequest, code: Any, grant: Any) -> HttpResponse:
    case = selectors.case_for_inviting(principal=request.principal, code=code)
    found = selectors.get_invitation(case=case, code=grant)
    try:
        services.revoke_expert(actor=request.user, grant=found)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Invitation revoked."))
    return redirect("partners:case-experts", code=case.code)


# --- hospital areas
@requires(Cap.VIEW_HOSPITAL_AREAS)
def hospital_areas(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    can_manage = principal.can(Cap.MANAGE_HOSPITAL_AREAS)
    form = None
    if can_manage:
        form = HospitalAreaForm(
            request.POST if request.method == "POST" else None, principal=principal
        )
    elif request.method == "POST":
        raise PermissionDenied
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            services.assign_hospital_area(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            apply_service_error(form, error)
        else:
            messages.success(request, _("Area assigned."))
            return redirect("partners:hospital-areas")
    return render(
        request,
        "partners/hospital_areas.html",
        {
            "form": form,
            "areas": selectors.hospital_areas(principal=principal),
            "served": selectors.served_schools(principal=principal),
            "can_manage": can_manage,
        },
        status=400 if form is not None and form.is_bound else 200,
    )


@requires(Cap.MANAGE_HOSPITAL_AREAS)
@require_POST
def hospital_area_end(request: PrincipalRequest, code: Any) -> HttpResponse:
    row = selectors.get_hospital_area(principal=request.principal, code=code)
    try:
        services.end_hospital_area(actor=request.user, row=row)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Assignment ended."))
    return redirect("partners:hospital-areas")


# --- referral summary and the psychiatrist's advice
@requires(Cap.VIEW_REFERRAL_SUMMARY)
def referral_summary(request: PrincipalRequest) -> HttpResponse:
    summaries = selectors.referral_summary(principal=request.principal)
    return render(request, "partners/referral_summary.html", {"summaries": summaries, **NOTE})


@requires(Cap.CONTRIBUTE_TO_PLAN)
def plan_advice(request: PrincipalRequest, code: Any) -> HttpResponse:
    referral = selectors.referral_for_advice(principal=request.principal, code=code)
    form = PlanAdviceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_plan_advice(actor=request.user, referral=referral, **form.cleaned_data)
        except DomainError as error:
            apply_service_error(form, error)
        else:
            messages.success(request, _("Advice added to the support plan."))
            return redirect("partners:plan-advice", code=referral.code)
    record_read(
        actor=request.user,
        obj=referral,
        fields=["plan_advice"],
        action="partners.plan_advice.viewed",
    )
    return render(
        request,
        "partners/plan_advice.html",
        {"referral": referral, "form": form, "advice": selectors.referral_advice(referral)},
        status=400 if form.is_bound else 200,
    )
