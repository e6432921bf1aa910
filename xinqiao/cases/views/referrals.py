"""Referral green channel (R9/R25): the psychology teacher refers, may cancel, and records the
feedback of a hospital that answers on paper; the psychiatrist receives, records the visit and gives
feedback; the case page shows the referrals (panel).

Thin views: request.principal → selectors (scope: 404 out of scope, 403 wrong role) → services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.audit.services import record_event
from xinqiao.core import navigation
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.core.navigation import NavItem

from ..forms.referrals import (
    CancelForm,
    FeedbackForm,
    PaperFeedbackForm,
    ReferralForm,
    SeenForm,
)
from ..models import Referral, ReferralStatus
from ..panels import Panel
from ..selectors import referrals as selectors
from ..selectors.common import can_handle, get_case, require_handle
from ..services import referrals as services
from ..services.common import case_url

NAV_ITEMS: list[NavItem] = [
    NavItem(
        "cases:referral-inbox",
        gettext_lazy("Referrals"),
        Cap.GIVE_REFERRAL_FEEDBACK,
        "hospital",
        gettext_lazy(
            "Students referred to you: confirm receipt, record the visit and give the school "
            "your advice."
        ),
        group=navigation.CASES,
    )
]


# --- the psychology teacher --------------------------------------------------------------------
@login_required
def referral_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    case = get_case(principal=principal, code=code, cap=Cap.HANDLE_CASES)
    require_handle(principal, case)
    directory = selectors.hospital_directory(case)
    form = ReferralForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        case=case,
        directory=directory,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        hospital, psychiatrist = data["destination"]
        try:
            services.refer(
                case,
                actor=request.user,
                hospital=hospital,
                psychiatrist=psychiatrist,
                reason=data["reason"],
                consent_basis=data["consent_basis"],
                consent_document=data["consent_document"],
                consent_contact=data["consent_contact"],
                emergency_reason=data["emergency_reason"],
                client_key=data["client_key"],
            )
        except DomainError as exc:
            apply_service_error(
                form, exc, aliases={"file": "consent_document", "hospital": "destination"}
            )
        else:
            messages.success(request, _("The referral has been sent to the hospital."))
            return redirect(case_url(case))
    return render(
        request,
        "cases/referrals/referral_form.html",
        {
            "case": case,
            "form": form,
            "directory": directory,
            "open_referral": selectors.open_referral(case),
            "has_consent_contacts": selectors.consent_contacts(case).exists(),
        },
    )


@login_required
def referral_cancel(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    referral = selectors.get_referral_for_handler(principal=principal, code=code)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_referral(referral, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The referral has been cancelled."))
            return redirect(case_url(referral.case))
    return render(
        request,
        "cases/referrals/cancel_form.html",
        {
            "referral": referral,
            "form": form,
            "can_cancel": referral.status in selectors.OPEN_STATUSES,
        },
    )


@login_required
def referral_paper_feedback(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    referral = selectors.get_referral_for_handler(principal=principal, code=code)
    form = PaperFeedbackForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        referral=referral,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_paper_feedback(
                referral,
                actor=request.user,
                seen_on=data.get("seen_on"),
                diagnosis_category=data["diagnosis_category"],
                advice_for_school=data["advice_for_school"],
                next_review_on=data["next_review_on"],
                letter=data["letter"],
                client_key=data["client_key"],
            )
        except DomainError as exc:
            apply_service_error(form, exc, aliases={"file": "letter"})
        else:
            messages.success(request, _("The hospital's feedback has been recorded."))
            return redirect(case_url(referral.case))
    return render(
        request,
        "cases/referrals/paper_feedback_form.html",
        {
            "referral": referral,
            "form": form,
            "can_record": referral.status in selectors.OPEN_STATUSES,
        },
    )


# --- the psychiatrist ----------------------------------------------------------------------------
@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_inbox(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    referrals = list(selectors.psychiatrist_referrals(principal=principal)[:200])
    return render(
        request,
        "cases/referrals/inbox.html",
        {"referrals": referrals, "open_statuses": selectors.OPEN_STATUSES},
    )


def _render_detail(
    request: PrincipalRequest, referral: Referral, seen_form: SeenForm | None = None
) -> HttpResponse:
    principal = request.principal
    summary = selectors.referral_summary(principal=principal, referral=referral)
    record_event(
        actor=request.user,
        action="cases.referral.viewed",
        obj=referral,
        school_id=referral.case.school_id,
        fields={"read": selectors.SUMMARY_FIELDS},
    )
    return render(
        request,
        "cases/referrals/detail.html",
        {
            "summary": summary,
            "referral": referral,
            "seen_form": seen_form or SeenForm(),
            "statuses": ReferralStatus,
        },
    )


@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    referral = selectors.get_referral_for_psychiatrist(
        principal=request.principal,
        code=code,
    )
    return _render_detail(request, referral)


@require_POST
@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_receive(request: PrincipalRequest, code: Any) -> HttpResponse:
    referral = selectors.get_referral_for_psychiatrist(
        principal=request.principal,
        code=code,
    )
    try:
        services.mark_received(referral, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as received."))
    return redirect("cases:referral-detail", code=referral.code)


@require_POST
@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_seen(request: PrincipalRequest, code: Any) -> HttpResponse:
    referral = selectors.get_referral_for_psychiatrist(
        principal=request.principal,
        code=code,
    )
    form = SeenForm(request.POST)
    if form.is_valid():
        try:
            services.mark_seen(referral, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The visit has been recorded."))
            return redirect("cases:referral-detail", code=referral.code)
    return _render_detail(request, referral, seen_form=form)


@requires(Cap.GIVE_REFERRAL_FEEDBACK)
def referral_feedback(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    referral = selectors.get_referral_for_psychiatrist(principal=principal, code=code)
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.give_feedback(referral, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Thank you. The school has your feedback."))
            return redirect("cases:referral-detail", code=referral.code)
    return render(
        request,
        "cases/referrals/feedback_form.html",
        {
            "referral": referral,
            "form": form,
            "ready": referral.status == ReferralStatus.SEEN
            and selectors.is_psychiatrist_for(principal, referral),
        },
    )


# --- the case page panel -------------------------------------------------------------------------
def panel(principal: Principal, case: Any) -> Panel | None:
    """Referrals of the case with their timeline. Reason and feedback only for T3 readers (the
    read is audited); the refer and cancel links for the psychology teacher who runs the case."""
    if principal is None or not principal.can(Cap.VIEW_CASES):
        return None
    rows = selectors.case_referrals(principal=principal, case=case)
    handle = can_handle(principal, case)
    for row in rows:
        if row.show_details:
            record_event(
                actor=principal.user,
                action="cases.referral.viewed",
                obj=row.referral,
                school_id=case.school_id,
                fields={"read": ["reason", "feedback"]},
            )
    has_open = any(r.referral.status in selectors.OPEN_STATUSES for r in rows)
    return Panel(
        "cases/referrals/_panel.html",
        {
            "referral_panel": {
                "case": case,
                "rows": rows,
                "can_handle": handle,
                "can_refer": handle and case.is_open and not has_open,
                "has_open": has_open,
                "open_statuses": selectors.OPEN_STATUSES,
            }
        },
        order=30,
    )


urlpatterns: list[Any] = [
    path("referrals/", referral_inbox, name="referral-inbox"),
    path("referrals/new/<uuid:code>/", referral_create, name="referral-create"),
    path("referrals/<uuid:code>/", referral_detail, name="referral-detail"),
    path("referrals/<uuid:code>/received/", referral_receive, name="referral-receive"),
    path("referrals/<uuid:code>/seen/", referral_seen, name="referral-seen"),
    path("referrals/<uuid:code>/feedback/", referral_feedback, name="referral-feedback"),
    path("referrals/<uuid:code>/cancel/", referral_cancel, name="referral-cancel"),
    path(
        "referrals/<uuid:code>/paper-feedback/",
        referral_paper_feedback,
        name="referral-paper-feedback",
    ),
]
