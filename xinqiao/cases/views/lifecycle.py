"""The case list and the case page (header, helplines, step down, timeline, panels).

Thin: every case comes from `selectors.common.get_case` (403 without the capability, 404 outside
the user's scope); writes go through `services.lifecycle`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_read
from xinqiao.core import navigation
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.core.helplines import helplines_for
from xinqiao.core.navigation import NavItem

from ..forms.lifecycle import CaseFilterForm, StepDownDecisionForm, StepDownRequestForm
from ..models import Case, CaseStatus
from ..panels import panels_for
from ..selectors import lifecycle as selectors
from ..selectors.common import can_read_notes, get_case, require_handle
from ..services import lifecycle as services

PAGE_SIZE = 50


# --- views --------------------------------------------------------------------------------------


@requires(Cap.VIEW_CASES)
def case_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    form = CaseFilterForm(request.GET or None)
    level, status = "", CaseStatus.OPEN
    if form.is_bound and form.is_valid():
        level = form.cleaned_data["level"]
        status = form.cleaned_data["status"] or CaseStatus.OPEN
    cases = selectors.list_cases(
        principal=principal, level=level, status="" if status == "all" else status
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(case, selectors.is_overdue(case, now)) for case in page]
    return render(
        request, "cases/lifecycle/case_list.html", {"form": form, "page": page, "rows": rows}
    )


@requires(Cap.VIEW_CASES)
def case_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    case = get_case(principal=principal, code=code)
    return _case_page(request, case)


@require_POST
@requires(Cap.HANDLE_CASES)
def step_down_request(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    case = get_case(principal=principal, code=code)
    require_handle(principal, case)
    form = StepDownRequestForm(request.POST)
    if form.is_valid():
        try:
            services.request_step_down(case, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Step-down request sent to the moral-education leader."))
            return redirect("cases:case-detail", code=case.code)
    return _case_page(request, case, request_form=form)


@require_POST
@requires(Cap.APPROVE_LEVEL_CHANGES)
def step_down_decide(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    case = get_case(principal=principal, code=code)
    if not selectors.can_approve(principal, case):
        raise PermissionDenied
    pending = selectors.pending_step_down(case)
    if pending is None:
        messages.error(request, _("No step-down request is waiting for this case."))
        return redirect("cases:case-detail", code=case.code)
    form = StepDownDecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.decide_step_down(
                pending, actor=request.user, approve=approve, note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            if approve:
                messages.success(request, _("Step down approved."))
            else:
                messages.success(request, _("Step-down request rejected."))
            return redirect("cases:case-detail", code=case.code)
    return _case_page(request, case, decision_form=form)


def _case_page(
    request: PrincipalRequest,
    case: Case,
    *,
    request_form: StepDownRequestForm | None = None,
    decision_form: StepDownDecisionForm | None = None,
) -> HttpResponse:
    """The case page; the read is audited (`cases.case.viewed`, naming the notes when shown)."""
    principal = request.principal
    include_notes = can_read_notes(principal, case)
    timeline = selectors.case_timeline(case, include_notes=include_notes)
    step_down = selectors.step_down_panel(principal=principal, case=case)
    read = ["level", "level_history", "owner", "follow_up_schedule", "timeline"]
    if include_notes:
        read.append("notes")
    if step_down.pending is not None and (step_down.can_decide or include_notes):
        read.append("step_down_reason")
    record_read(
        actor=request.user,
        obj=case,
        fields=[*read, f"student:{case.student.code}"],
        action="cases.case.viewed",
    )
    panels = [
        mark_safe(  # noqa: S308 - each panel is a template rendered (and escaped) on its own
            render_to_string(
                panel.template,
                {"case": case, "principal": principal, **panel.context},
                request=request,
            )
        )
        for panel in panels_for(principal=principal, case=case)
    ]
    return render(
        request,
        "cases/lifecycle/case_detail.html",
        {
            "case": case,
            "overdue": selectors.is_overdue(case),
            "helplines": helplines_for([case.school]),
            "timeline": timeline,
            "include_notes": include_notes,
            "step_down": step_down,
            "request_form": request_form or StepDownRequestForm(),
            "decision_form": decision_form or StepDownDecisionForm(),
            "panels": panels,
        },
    )


urlpatterns = [
    path("", case_list, name="case-list"),
    path("<uuid:code>/", case_detail, name="case-detail"),
    path("<uuid:code>/step-down/request/", step_down_request, name="step-down-request"),
    path("<uuid:code>/step-down/decide/", step_down_decide, name="step-down-decide"),
]

NAV_ITEMS: list[NavItem] = [
    NavItem(
        "cases:case-list",
        _("High-care cases"),
        Cap.VIEW_CASES,
        "folder2-open",
        _("Every high-care case in your scope: level, owner, next follow-up."),
        group=navigation.CASES,
    )
]
