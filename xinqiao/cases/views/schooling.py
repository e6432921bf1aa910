"""Suspension and return, transfers through the district station, sweeps and incidents.

Thin views: the principal (request.principal), a selector for the object (404 out of scope, 403
without the capability), a service for every write. The case page shows this area through
`panel(principal, case)`. Creates carry a hidden `client_key` (`ClientKeyMixin`), so a double
submit records once.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.audit.services import record_read
from xinqiao.cases.panels import Panel
from xinqiao.core import navigation
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.core.navigation import NavItem
from xinqiao.people.models import StudentStatus

from ..forms.schooling import (
    GroupSessionForm,
    IncidentCampaignForm,
    IncidentForm,
    ReturnForm,
    SuspensionForm,
    SweepForm,
    SweepReviewForm,
    TransferRequestForm,
)
from ..models import Case
from ..selectors import schooling as sel
from ..selectors.common import can_handle, can_read_notes, get_case, require_handle
from ..services import schooling as schooling_services
from ..services import sweeps as sweep_services
from ..services import transfers as transfer_services

# --- the case page panel ----------------------------------------------------------------------


def panel(principal: Principal, case: Any) -> Panel | None:
    """Suspension/return history and transfer status on the case page, with the actions the user
    may take. Texts (reason, opinion, assessment, plan) only for those who read notes."""
    if not principal.can(Cap.VIEW_CASES):
        return None
    history = sel.schooling_history(case)
    show_texts = can_read_notes(principal, case)
    handle = can_handle(principal, case)
    status = case.student.status
    pending = sel.pending_transfer(case)
    if show_texts and history:
        record_read(
            actor=principal.user,
            obj=case,
            fields=["schooling_changes"],
            action="cases.case.schooling_viewed",
        )
    return Panel(
        template="cases/schooling/_panel.html",
        order=60,
        context={
            "schooling": {
                "case": case,
                "history": history,
                "show_texts": show_texts,
                "student_status": status,
                "student_status_label": StudentStatus(status).label,
                "can_suspend": handle and case.is_open and status == StudentStatus.ENROLLED,
                "can_return": handle and status == StudentStatus.SUSPENDED,
                "pending_transfer": pending,
                "transfers": sel.case_transfers(case),
                "moved": case.student.school_id != case.school_id,
                "can_request_transfer": handle
                and case.is_open
                and pending is None
                and case.student.school_id != case.school_id,
            }
        },
    )


# --- suspension and return --------------------------------------------------------------------


def _handled_case(request: PrincipalRequest, code: Any) -> Case:
    principal = request.principal
    case = get_case(principal=principal, code=code, cap=Cap.HANDLE_CASES)
    require_handle(principal, case)
    return case


def _back_to_case(case: Case) -> HttpResponse:
    from django.urls import NoReverseMatch

    try:
        return redirect("cases:case-detail", code=case.code)
    except NoReverseMatch:  # the case page belongs to another area of the app
        return redirect("cases:transfer-incoming")


@requires(Cap.HANDLE_CASES)
def suspension_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    form = SuspensionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            schooling_services.suspend_student(
                case,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                effective_on=form.cleaned_data["effective_on"],
                expected_until=form.cleaned_data["expected_until"],
                documents=form.cleaned_data["documents"],
                client_key=form.cleaned_data["client_key"],
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Suspension recorded; the student's status is suspended."))
            return _back_to_case(case)
    return render(
        request,
        "cases/schooling/suspension_form.html",
        {"case": case, "form": form, "suspended": case.student.status == StudentStatus.SUSPENDED},
    )


@requires(Cap.HANDLE_CASES)
def return_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    form = ReturnForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            schooling_services.return_student(
                case,
                actor=request.user,
                returned_on=form.cleaned_data["returned_on"],
                medical_opinion=form.cleaned_data["medical_opinion"],
                opinion_documents=form.cleaned_data["opinion_documents"],
                return_assessment=form.cleaned_data["return_assessment"],
                return_plan=form.cleaned_data["return_plan"],
                client_key=form.cleaned_data["client_key"],
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(
                request, _("Return recorded; the student is enrolled and a follow-up is due.")
            )
            return _back_to_case(case)
    suspension = sel.open_suspension(case)
    return render(
        request,
        "cases/schooling/return_form.html",
        {"case": case, "form": form, "suspension": suspension},
    )


# --- transfers --------------------------------------------------------------------------------


def _read_notes(user: Any, transfers: list[Any]) -> None:
    for transfer in transfers:
        record_read(
            actor=user, obj=transfer, fields=["handover_note"], action="cases.transfer.viewed"
        )


@requires(Cap.HANDLE_CASES)
def transfer_request(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    to_school = case.student.school
    form = TransferRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            transfer_services.request_transfer(
                case,
                actor=request.user,
                to_school=to_school,
                handover_note=form.cleaned_data["handover_note"],
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Transfer sent to the district station."))
            return redirect("cases:transfer-incoming")
    return render(
        request,
        "cases/schooling/transfer_request.html",
        {
            "case": case,
            "form": form,
            "to_school": to_school,
            "moved": to_school.pk != case.school_id,
            "station": sel.station_for(to_school),
            "pending": sel.pending_transfer(case),
        },
    )


@requires(Cap.HANDLE_CASES)
def transfer_incoming(request: PrincipalRequest) -> HttpResponse:
    """The psychology teacher's transfers: cases to send on, sent ones, and ones to accept."""
    principal = request.principal
    incoming = list(sel.incoming_transfers(principal=principal))
    _read_notes(request.user, incoming)
    return render(
        request,
        "cases/schooling/transfer_incoming.html",
        {
            "needs_transfer": list(sel.needs_transfer(principal=principal)),
            "outgoing": list(sel.outgoing_transfers(principal=principal)),
            "incoming": incoming,
        },
    )


@require_POST
@requires(Cap.HANDLE_CASES)
def transfer_accept(request: PrincipalRequest, code: Any) -> HttpResponse:
    transfer = sel.get_transfer_to_accept(principal=request.principal, code=code)
    try:
        transfer_services.accept_transfer(transfer, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("cases:transfer-incoming")
    messages.success(request, _("Case accepted: it is now held by your school."))
    return _back_to_case(transfer.case)


@requires(Cap.FORWARD_TRANSFERS)
def transfer_list(request: PrincipalRequest) -> HttpResponse:
    """The district station's transfers: waiting to be forwarded first, then the record."""
    principal = request.principal
    transfers = list(sel.station_transfers(principal=principal).order_by("status", "-requested_at"))
    waiting = [t for t in transfers if t.status == "requested"]
    _read_notes(request.user, waiting)
    return render(
        request,
        "cases/schooling/transfer_list.html",
        {"waiting": waiting, "done": [t for t in transfers if t.status != "requested"]},
    )


@require_POST
@requires(Cap.FORWARD_TRANSFERS)
def transfer_forward(request: PrincipalRequest, code: Any) -> HttpResponse:
    transfer = sel.get_transfer_to_forward(principal=request.principal, code=code)
    try:
        transfer_services.forward_transfer(transfer, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Transfer forwarded to the receiving school."))
    return redirect("cases:transfer-list")


# --- sweeps -----------------------------------------------------------------------------------


@requires(Cap.HANDLE_CASES)
def sweep_list(request: PrincipalRequest) -> HttpResponse:
    sweeps = list(sel.visible_sweeps(principal=request.principal))
    return render(request, "cases/schooling/sweep_list.html", {"sweeps": sweeps})


@requires(Cap.HANDLE_CASES)
def sweep_create(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    form = SweepForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        students = form.students_from("rescreen_numbers")
        if form.is_valid():
            data = form.cleaned_data
            try:
                sweep = sweep_services.start_sweep(
                    actor=request.user,
                    school=data["school"],
                    kind=data["kind"],
                    title=data["title"],
                    review_by=data["review_by"],
                    rescreen_classes=list(data["rescreen_classes"]),
                    rescreen_students=students,
                    campaign_kind=data["campaign_kind"],
                    client_key=data["client_key"],
                )
            except DomainError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Sweep started: every open case is on its list."))
                return redirect("cases:sweep-detail", code=sweep.code)
    return render(request, "cases/schooling/sweep_form.html", {"form": form})


@requires(Cap.HANDLE_CASES)
def sweep_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    sweep = sel.get_sweep(principal=request.principal, code=code)
    reviews = list(sel.sweep_reviews(sweep))
    if any(r.reviewed_at for r in reviews):
        record_read(
            actor=request.user, obj=sweep, fields=["review notes"], action="cases.sweep.viewed"
        )
    return render(
        request,
        "cases/schooling/sweep_detail.html",
        {
            "sweep": sweep,
            "reviews": reviews,
            "progress": sel.sweep_progress(sweep),
            "review_form": SweepReviewForm(),
        },
    )


@require_POST
@requires(Cap.HANDLE_CASES)
def sweep_review(request: PrincipalRequest, code: Any, case: Any) -> HttpResponse:
    sweep = sel.get_sweep(principal=request.principal, code=code)
    review = sel.get_sweep_review(sweep=sweep, case_code=case)
    form = SweepReviewForm(request.POST)
    if form.is_valid():
        try:
            sweep_services.review_sweep_case(
                review, actor=request.user, note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Review recorded."))
            return redirect("cases:sweep-detail", code=sweep.code)
    else:
        messages.error(request, _("Write what the review found."))
    return redirect("cases:sweep-detail", code=sweep.code)


# --- incidents --------------------------------------------------------------------------------


@requires(Cap.HANDLE_CASES)
def incident_list(request: PrincipalRequest) -> HttpResponse:
    incidents = list(sel.visible_incidents(principal=request.principal))
    return render(request, "cases/schooling/incident_list.html", {"incidents": incidents})


@requires(Cap.HANDLE_CASES)
def incident_create(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    form = IncidentForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        students = form.students_from("student_numbers")
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = sweep_services.record_incident(
                    actor=request.user,
                    school=data["school"],
                    title=data["title"],
                    occurred_on=data["occurred_on"],
                    description=data["description"],
                    classes=list(data["classes"]),
                    students=students,
                    start_campaign=data["start_campaign"],
                    campaign_closes_on=data["campaign_closes_on"],
                    client_key=data["client_key"],
                )
            except DomainError as exc:
                apply_service_error(form, exc, aliases={"closes_on": "campaign_closes_on"})
            else:
                messages.success(request, _("Incident recorded."))
                return redirect("cases:incident-detail", code=incident.code)
    return render(request, "cases/schooling/incident_form.html", {"form": form})


@requires(Cap.HANDLE_CASES)
def incident_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    incident = sel.get_incident(principal=request.principal, code=code)
    record_read(
        actor=request.user,
        obj=incident,
        fields=["description", "group session notes"],
        action="cases.incident.viewed",
    )
    return render(
        request,
        "cases/schooling/incident_detail.html",
        {
            "incident": incident,
            "affected": list(sel.affected_students(incident)),
            "sessions": sel.group_sessions(incident),
            "campaign_form": IncidentCampaignForm() if incident.campaign_id is None else None,
        },
    )


@require_POST
@requires(Cap.HANDLE_CASES)
def incident_campaign(request: PrincipalRequest, code: Any) -> HttpResponse:
    incident = sel.get_incident(principal=request.principal, code=code)
    form = IncidentCampaignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the date the follow-up screening closes."))
        return redirect("cases:incident-detail", code=incident.code)
    try:
        sweep_services.start_incident_campaign(
            incident, actor=request.user, closes_on=form.cleaned_data["closes_on"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Follow-up screening opened for the affected students."))
    return redirect("cases:incident-detail", code=incident.code)


@requires(Cap.HANDLE_CASES)
def group_session_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    incident = sel.get_incident(principal=request.principal, code=code)
    form = GroupSessionForm(request.POST or None, incident=incident, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sweep_services.record_group_session(
                incident,
                actor=request.user,
                held_at=data["held_at"],
                facilitator=data["facilitator"],
                topic=data["topic"],
                participants=list(data["participants"]),
                note=data["note"],
                client_key=data["client_key"],
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Group session recorded."))
            return redirect("cases:incident-detail", code=incident.code)
    return render(
        request, "cases/schooling/group_session_form.html", {"incident": incident, "form": form}
    )


urlpatterns: list[Any] = [
    path("schooling/<uuid:code>/suspend/", suspension_create, name="suspension-create"),
    path("schooling/<uuid:code>/return/", return_create, name="return-create"),
    path("transfers/", transfer_list, name="transfer-list"),
    path("transfers/mine/", transfer_incoming, name="transfer-incoming"),
    path("transfers/<uuid:code>/request/", transfer_request, name="transfer-request"),
    path("transfers/<uuid:code>/forward/", transfer_forward, name="transfer-forward"),
    path("transfers/<uuid:code>/accept/", transfer_accept, name="transfer-accept"),
    path("sweeps/", sweep_list, name="sweep-list"),
    path("sweeps/new/", sweep_create, name="sweep-create"),
    path("sweeps/<uuid:code>/", sweep_detail, name="sweep-detail"),
    path("sweeps/<uuid:code>/review/<uuid:case>/", sweep_review, name="sweep-review"),
    path("incidents/", incident_list, name="incident-list"),
    path("incidents/new/", incident_create, name="incident-create"),
    path("incidents/<uuid:code>/", incident_detail, name="incident-detail"),
    path("incidents/<uuid:code>/screening/", incident_campaign, name="incident-campaign"),
    path("incidents/<uuid:code>/sessions/new/", group_session_create, name="group-session-create"),
]

NAV_ITEMS: list[NavItem] = [
    NavItem(
        "cases:sweep-list",
        gettext_lazy("Sweeps"),
        Cap.HANDLE_CASES,
        "search",
        gettext_lazy("Special-period sweeps: review every open case, re-screen a group"),
        group=navigation.CASES,
    ),
    NavItem(
        "cases:incident-list",
        gettext_lazy("Incidents"),
        Cap.HANDLE_CASES,
        "exclamation-triangle",
        gettext_lazy("Critical incidents: the affected group, follow-up screening, group sessions"),
        group=navigation.CASES,
    ),
    NavItem(
        "cases:transfer-incoming",
        gettext_lazy("Case transfers"),
        Cap.HANDLE_CASES,
        "arrow-left-right",
        gettext_lazy("Cases to send to a student's new school, and cases sent to yours"),
        group=navigation.CASES,
    ),
    NavItem(
        "cases:transfer-list",
        gettext_lazy("Transfers to forward"),
        Cap.FORWARD_TRANSFERS,
        "arrow-left-right",
        gettext_lazy("Case transfers between schools waiting for the district station"),
        group=navigation.CASES,
    ),
]
