"""Pages of group programmes, the hotline log and case conferences. Thin: selectors_groups read
through the access layer, services_groups write and audit; reads of lists that name children
(members, calls) and of a conference are audited here."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_list_read, record_read
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.orgs.models import OrgUnit

from . import selectors_groups as sel
from . import services_groups as svc
from .forms_groups import (
    ActionForm,
    AdviceForm,
    CallForm,
    ConferenceForm,
    MembersForm,
    ProgrammeForm,
    SessionForm,
    SessionRecordForm,
)

Errors = (DomainError, ValidationError)


def _pick_unit(request: PrincipalRequest, units: list[OrgUnit]) -> OrgUnit:
    """The unit the user acts for (?unit=code when there are several); 403 without one."""
    if not units:
        raise PermissionDenied
    wanted = request.GET.get("unit") or request.POST.get("unit")
    return next((u for u in units if str(u.code) == wanted), units[0])


def _form_page(request: PrincipalRequest, form: Any, *, title: str, back: str, unit: Any = None):
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "back": back, "unit": unit}
    return render(request, "counselling/form.html", context, status=status)


# --- group programmes -------------------------------------------------------------------------
@requires(Cap.VIEW_COUNSELLING)
def group_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    context = {
        "programmes": sel.programmes(principal)[:200],
        "incident_sessions": sel.incident_group_sessions(principal),
        "can_create": bool(sel.keeper_units(principal)),
    }
    return render(request, "counselling/groups/list.html", context)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def group_create(request: PrincipalRequest) -> HttpResponse:
    unit = _pick_unit(request, sel.keeper_units(request.principal))
    form = ProgrammeForm(request.POST or None, principal=request.principal)
    if request.method == "POST" and form.is_valid():
        try:
            programme = svc.create_programme(actor=request.user, unit=unit, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The group programme was created."))
            return redirect("counselling:group-detail", code=programme.code)
    back = reverse("counselling:group-list")
    return _form_page(request, form, title=_("New group programme"), back=back, unit=unit)


@requires(Cap.VIEW_COUNSELLING)
def group_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    programme = sel.get_programme(principal=principal, code=code)
    keeps = sel.may_keep(principal, programme)
    members = sel.members(programme) if keeps else []
    if members:
        record_list_read(
            actor=request.user,
            action="counselling.group.members_viewed",
            rows=members,
            read=["name", "group"],
            fields={"programme": str(programme.code)},
        )
    context = {
        "p": programme,
        "keeps": keeps,
        "counts": keeps or sel.sees_counts(principal, programme),
        "class_takes_part": sel.class_takes_part(principal, programme),
        "members": members,
        "sessions": sel.sessions(programme),
        "facilitators": list(programme.facilitators.select_related("staff")),
    }
    return render(request, "counselling/groups/detail.html", context)


def _kept(request: PrincipalRequest, code: Any) -> Any:
    programme = sel.get_programme(principal=request.principal, code=code)
    if not sel.may_keep(request.principal, programme):
        raise PermissionDenied
    return programme


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def group_members(request: PrincipalRequest, code: Any) -> HttpResponse:
    programme = _kept(request, code)
    form = MembersForm(request.POST or None, principal=request.principal)
    if request.method == "POST" and form.is_valid():
        try:
            added = svc.add_members(
                actor=request.user,
                programme=programme,
                students=form.cleaned_data["students"] or [],
                school_class=form.cleaned_data["school_class"],
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("%(n)s students joined the group.") % {"n": added})
            return redirect("counselling:group-detail", code=programme.code)
    back = reverse("counselling:group-detail", kwargs={"code": programme.code})
    return _form_page(request, form, title=_("Add members"), back=back, unit=programme.unit)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def group_session_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    programme = _kept(request, code)
    form = SessionForm(request.POST or None, rooms=sel.group_rooms(programme.unit))
    if request.method == "POST" and form.is_valid():
        starts_at, ends_at = form.times()
        try:
            svc.plan_session(
                actor=request.user,
                programme=programme,
                starts_at=starts_at,
                ends_at=ends_at,
                room=form.cleaned_data["room"],
            )
        except Errors as exc:
            apply_service_error(form, exc, default_field="starts_at")
        else:
            messages.success(request, _("The session was planned."))
            return redirect("counselling:group-detail", code=programme.code)
    back = reverse("counselling:group-detail", kwargs={"code": programme.code})
    return _form_page(request, form, title=_("Plan a session"), back=back, unit=programme.unit)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def group_session(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A session's attendance and short record (the keepers only; the record is read audited)."""
    session = sel.get_session(principal=request.principal, code=code)
    members = sel.members(session.programme)
    attendance = sel.attendance_of(session)
    initial = {
        "record": session.record or "",
        "present": [str(pk) for pk, here in attendance.items() if here],
    }
    form = SessionRecordForm(request.POST or None, members=members, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            svc.record_session(
                actor=request.user,
                session=session,
                record=form.cleaned_data["record"],
                present=form.cleaned_data["present"],
            )
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The session was recorded."))
            return redirect("counselling:group-detail", code=session.programme.code)
    if members:  # the page names the members and shows the record: an audited read
        record_read(
            actor=request.user,
            obj=session,
            fields=["record", "attendance"],
            action="counselling.group_session.viewed",
        )
    context = {
        "s": session,
        "form": form,
        "begun": session.starts_at <= timezone.now(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "counselling/groups/session.html", context, status=status)


# --- the hotline log --------------------------------------------------------------------------
@requires(Cap.COUNSEL)
def hotline_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    if not sel.hotline_units(principal):
        raise PermissionDenied
    rows = list(sel.calls(principal)[:100])
    record_list_read(
        actor=request.user,
        action="counselling.hotline.list_viewed",
        rows=rows,
        read=["name", "risk"],
    )
    return render(request, "counselling/hotline/list.html", {"calls": rows})


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def hotline_add(request: PrincipalRequest) -> HttpResponse:
    unit = _pick_unit(request, sel.hotline_units(request.principal))
    form = CallForm(request.POST or None, principal=request.principal)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        number, name = data.pop("student_number"), data.pop("student_name")
        try:
            if not data["anonymous"] and data["student"] is None:
                data["student"] = svc.find_student(number=number, name=name)
            call = svc.log_call(actor=request.user, unit=unit, **data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The call was logged."))
            return redirect("counselling:hotline-detail", code=call.code)
    back = reverse("counselling:hotline-list")
    return _form_page(request, form, title=_("Log a call or chat"), back=back, unit=unit)


@requires(Cap.COUNSEL)
def hotline_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    call = sel.get_call(principal=request.principal, code=code)
    record_read(
        actor=request.user,
        obj=call,
        fields=["student", "concern", "risk", "follow_up"],
        action="counselling.hotline.viewed",
    )
    return render(request, "counselling/hotline/detail.html", {"c": call})


# --- case conferences -------------------------------------------------------------------------
@requires(Cap.VIEW_COUNSELLING)
def conference_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    context = {
        "conferences": sel.conferences(principal)[:100],
        "can_create": bool(sel.conference_units(principal)),
    }
    return render(request, "counselling/conferences/list.html", context)


@requires(Cap.COUNSEL)
@require_http_methods(["GET", "POST"])
def conference_add(request: PrincipalRequest) -> HttpResponse:
    unit = _pick_unit(request, sel.conference_units(request.principal))
    form = ConferenceForm(request.POST or None, principal=request.principal)
    if request.method == "POST" and form.is_valid():
        try:
            conference = svc.create_conference(actor=request.user, unit=unit, **form.cleaned_data)
        except Errors as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The case conference was recorded."))
            return redirect("counselling:conference-detail", code=conference.code)
    back = reverse("counselling:conference-list")
    return _form_page(request, form, title=_("New case conference"), back=back, unit=unit)


@requires(Cap.VIEW_COUNSELLING)
def conference_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    conference = sel.get_conference(principal=request.principal, code=code)
    record_read(
        actor=request.user,
        obj=conference,
        fields=["question", "presentation", "advice"],
        action="counselling.conference.viewed",
    )
    is_author = conference.author_id == request.user.pk
    people = sel.conference_people(conference)
    context = {
        "c": conference,
        "is_author": is_author,
        "participants": [u for u in people if u.pk != conference.author_id],
        "actions": list(conference.actions.select_related("owner__staff")),
        "advice_form": AdviceForm(initial={"advice": conference.advice}) if is_author else None,
        "action_form": ActionForm(people=people) if is_author else None,
    }
    return render(request, "counselling/conferences/detail.html", context)


def _authored(request: PrincipalRequest, code: Any) -> Any:
    conference = sel.get_conference(principal=request.principal, code=code)
    if conference.author_id != request.user.pk:
        raise PermissionDenied
    return conference


@requires(Cap.VIEW_COUNSELLING)
@require_POST
def conference_advice(request: PrincipalRequest, code: Any) -> HttpResponse:
    conference = _authored(request, code)
    form = AdviceForm(request.POST)
    if form.is_valid():
        svc.record_advice(actor=request.user, conference=conference, **form.cleaned_data)
        messages.success(request, _("The advice was recorded."))
    else:
        messages.error(request, _("Write the advice."))
    return redirect("counselling:conference-detail", code=conference.code)


@requires(Cap.VIEW_COUNSELLING)
@require_POST
def conference_action_add(request: PrincipalRequest, code: Any) -> HttpResponse:
    conference = _authored(request, code)
    form = ActionForm(request.POST, people=sel.conference_people(conference))
    if form.is_valid():
        try:
            svc.add_action(actor=request.user, conference=conference, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The follow-up action was added."))
    else:
        messages.error(request, _("Give the action, its owner and its due date."))
    return redirect("counselling:conference-detail", code=conference.code)
