"""Care of an open case: the care panel on the case page and the small, phone-friendly form pages
it links to (team, support plan, follow-up, guardian contact, signed acknowledgement), plus the
case-document download.

Every page: signed in, the case through `get_case` (403 without `view_cases`, 404 out of scope),
then `require_handle` for writes (403 for the leader and the station). A form page shows the form
on GET, saves on POST and redirects to the case page (PRG); a refused save re-renders the form
with what was typed. Creates carry a hidden `client_key`, so a double submit records once.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.audit.services import record_read
from xinqiao.cases.panels import Panel
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.core.navigation import NavItem

from ..documents import read_document
from ..forms.care import (
    AcknowledgementForm,
    FollowUpForm,
    GuardianContactForm,
    SupportPlanForm,
    TeamMemberForm,
)
from ..models import Case, CaseTeamMember
from ..selectors import care as selectors
from ..selectors.common import get_case, require_handle
from ..services import care as services
from ..services.common import case_url

NAV_ITEMS: list[NavItem] = []


# --- helpers -----------------------------------------------------------------------------------


def _handled_case(request: PrincipalRequest, code: Any) -> Case:
    principal = request.principal
    case = get_case(principal=principal, code=code)
    require_handle(principal, case)
    return case


def _back(case: Case) -> HttpResponseRedirect:
    return HttpResponseRedirect(case_url(case) + "#care")


def _form_page(
    request: HttpRequest, case: Case, form: forms.Form, *, title: str, intro: str = ""
) -> HttpResponse:
    return render(
        request,
        "cases/care/form.html",
        {
            "case": case,
            "form": form,
            "title": title,
            "intro": intro,
            "back_url": case_url(case) + "#care",
        },
    )


# --- team --------------------------------------------------------------------------------------


@login_required
def team_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    present = set(case.team.filter(removed_at__isnull=True).values_list("user_id", flat=True))
    candidates = [c for c in selectors.team_candidates(case) if c.user.pk not in present]
    form = TeamMemberForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        candidate = form.cleaned_data["member"]
        try:
            services.add_team_member(
                case,
                actor=request.user,
                user=candidate.user,
                role=candidate.role,
                task=form.cleaned_data["task"],
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Added to the team."))
            return _back(case)
    return _form_page(
        request,
        case,
        form,
        title=_("Add to the team"),
        intro=_(
            "Level 1: moral-education leader and psychology teacher. Level 2: head teacher, "
            "subject teachers and mentors. Level 3: class psychology committee members, whose "
            "only task is to keep an eye on their classmate and report changes."
        ),
    )


@require_POST
@login_required
def team_add_usual(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    try:
        added = services.add_usual_team(case, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if added:
            messages.success(
                request,
                _("People added to the team: %(count)s") % {"count": len(added)},
            )
        else:
            messages.info(request, _("Everyone in the usual team is already on it."))
    return _back(case)


@require_POST
@login_required
def team_remove(request: PrincipalRequest, code: Any, member_id: int) -> HttpResponse:
    case = _handled_case(request, code)
    member = CaseTeamMember.objects.filter(case=case, pk=member_id).first()
    if member is None:
        raise Http404
    try:
        services.remove_team_member(member, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Removed from the team."))
    return _back(case)


# --- support plan ------------------------------------------------------------------------------


@login_required
def plan_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    current = selectors.current_plan(case)
    initial: dict[str, Any] = {"owner": case.owner_id}
    if current is not None:
        initial = {
            "goal": current.goal,
            "actions": current.actions,
            "owner": current.owner_id,
            "review_on": current.review_on,
        }
        record_read(
            actor=request.user,
            obj=case,
            fields=["support_plan"],
            action="cases.case.care_notes_viewed",
        )
    form = SupportPlanForm(
        request.POST or None, initial=initial, owners=selectors.plan_owner_choices(case)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_support_plan(case, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Support plan saved."))
            return _back(case)
    return _form_page(
        request,
        case,
        form,
        title=_("Support plan"),
        intro=_("Saving makes a new version; the previous versions are kept."),
    )


# --- follow-ups --------------------------------------------------------------------------------


@login_required
def follow_up_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            follow_up = services.record_follow_up(case, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Follow-up recorded."))
            if follow_up.risk_signs:
                messages.warning(
                    request,
                    _(
                        "Signs of risk were recorded: an orange alert awaits verification unless "
                        "one was already open. Consider raising the case level."
                    ),
                )
            return _back(case)
    return _form_page(request, case, form, title=_("Record a follow-up"))


# --- guardian contacts -------------------------------------------------------------------------


@login_required
def contact_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    case = _handled_case(request, code)
    principal = request.principal
    guardians = selectors.case_guardians(
        case, full_phone=selectors.show_guardian_phone(principal, case)
    )
    form = GuardianContactForm(request.POST or None, request.FILES or None, guardians=guardians)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_guardian_contact(
                case,
                actor=request.user,
                client_key=data["client_key"],
                guardian=data["guardian"],
                method=data["method"],
                contacted_at=data["contacted_at"],
                what_was_said=data["what_was_said"],
                guardian_response=data["guardian_response"],
                consent=data["consent"],
                informed_of_level=data["informed_of_level"],
                acknowledgement=data["acknowledgement"] or None,
                acknowledgement_later=data["acknowledgement_later"],
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Guardian contact recorded."))
            return _back(case)
    return _form_page(
        request,
        case,
        form,
        title=_("Record a guardian contact"),
        intro=_(
            "Informing the guardian of a red level needs their signed acknowledgement; "
            "until it is uploaded the case page shows it as missing."
        ),
    )


@login_required
def contact_acknowledgement(request: PrincipalRequest, code: Any, contact_id: int) -> HttpResponse:
    case = _handled_case(request, code)
    contact = selectors.guardian_contact(case, contact_id)
    form = AcknowledgementForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.upload_acknowledgement(
                contact, actor=request.user, upload=form.cleaned_data["file"]
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Signed acknowledgement uploaded."))
            return _back(case)
    return _form_page(
        request,
        case,
        form,
        title=_("Upload the signed acknowledgement"),
        intro=_("Guardian contact of %(date)s")
        % {"date": timezone.localtime(contact.contacted_at).strftime("%Y-%m-%d %H:%M")},
    )


# --- documents ---------------------------------------------------------------------------------


@never_cache
@login_required
def document_download(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A case document, for those who may read the case's T3 material; every download audited."""
    document = selectors.get_document(principal=request.principal, code=code)
    data = read_document(document)
    record_read(
        actor=request.user,
        obj=document.case,
        fields=[f"document:{document.code}", document.kind],
        action="cases.document.downloaded",
    )
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=document.original_name
    )
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "no-store, private, max-age=0"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the panel on the case page ----------------------------------------------------------------


def panel(principal: Principal, case: Any) -> Panel | None:
    """The care panel: team, plan, follow-ups, guardian contacts (and the forms' links when the
    user handles the case). Reading the notes in it is audited."""
    if principal is None or not principal.can(Cap.VIEW_CASES):
        return None
    data = selectors.care_panel(principal, case)
    if data["can_read_notes"] and (data["plan"] or data["follow_ups"] or data["contacts"]):
        record_read(
            actor=principal.user,
            obj=case,
            fields=["follow_up_notes", "guardian_contacts", "support_plan"],
            action="cases.case.care_notes_viewed",
        )
    return Panel(template="cases/care/_panel.html", context={"care": data}, order=20)


urlpatterns = [
    path("<uuid:code>/team/add/", team_add, name="team-add"),
    path("<uuid:code>/team/add-usual/", team_add_usual, name="team-add-usual"),
    path("<uuid:code>/team/<int:member_id>/remove/", team_remove, name="team-remove"),
    path("<uuid:code>/plan/", plan_edit, name="plan-edit"),
    path("<uuid:code>/follow-ups/new/", follow_up_create, name="follow-up-create"),
    path("<uuid:code>/guardian-contacts/new/", contact_create, name="contact-create"),
    path(
        "<uuid:code>/guardian-contacts/<int:contact_id>/acknowledgement/",
        contact_acknowledgement,
        name="contact-acknowledgement",
    ),
    path("documents/<uuid:code>/", document_download, name="document"),
]
