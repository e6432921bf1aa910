"""Thin views: parse, call a selector or service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_list_read
from xinqiao.core import health
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error

from . import rules as rules_mod
from . import selectors, services
from .dry_run import dry_run, parse_answers
from .forms import ConcernForm, DryRunForm, RuleSetForm, VerificationForm
from .hooks import alert_links


@requires(Cap.VIEW_ALERTS)
def worklist(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    alerts = selectors.worklist(principal=principal)
    # Named students with their alert level: an audited read.
    record_list_read(
        actor=request.user, action="alerts.worklist.viewed", rows=alerts, read=["name", "level"]
    )
    return render(
        request,
        "alerts/worklist.html",
        {
            "alerts": alerts,
            "can_handle": principal.can(Cap.HANDLE_ALERTS),
            "stalled": selectors.stalled_hand_ins(principal=principal),
            # the school's own hand-ins above; what stalls every school (the worker, delivery):
            "chain_stalled": health.stalled_alert_chain(exclude=frozenset({"hand_ins"})),
        },
    )


@requires(Cap.VIEW_ALERTS)
def alert_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    alert = selectors.get_alert(principal=principal, code=code)
    evidence = None
    if selectors.can_read_evidence(principal, alert):
        evidence = selectors.alert_evidence(principal=principal, alert=alert)
    return render(
        request,
        "alerts/alert_detail.html",
        {
            "alert": alert,
            "evidence": evidence,
            "can_handle": principal.can(Cap.HANDLE_ALERTS) and alert.is_open,
            "links": alert_links(principal, alert),
            "student_link": principal.can(Cap.VIEW_STUDENTS),
        },
    )


@require_POST
@requires(Cap.HANDLE_ALERTS)
def alert_acknowledge(request: PrincipalRequest, code: Any) -> HttpResponse:
    alert = selectors.get_alert(principal=request.principal, code=code)
    try:
        services.acknowledge_alert(alert, actor=request.user)
        messages.success(request, _("Alert acknowledged."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("alerts:alert-detail", code=alert.code)


@requires(Cap.HANDLE_ALERTS)
def alert_verify(request: PrincipalRequest, code: Any) -> HttpResponse:
    alert = selectors.get_alert(principal=request.principal, code=code)
    form = VerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.verify_alert(alert, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Verification recorded."))
            return redirect("alerts:alert-detail", code=alert.code)
    return render(request, "alerts/alert_verify.html", {"alert": alert, "form": form})


@requires(Cap.FILE_CONCERN)
def concern_create(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    # ?student=<code> preselects a student (a parent's link from their child's page); a code
    # outside the user's concern scope selects nothing (the picker's rows are the scope).
    initial = {"student": request.GET.get("student", "")[:40]} if request.method == "GET" else {}
    form = ConcernForm(request.POST or None, principal=principal, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.file_concern(
                actor=request.user,
                student=data["student"],
                what_seen=data["what_seen"],
                seen_on=data["seen_on"],
                urgency=data["urgency"],
                source=data.get("source", ""),
            )
        except DomainError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Thank you. Your report has been received."))
            return redirect("alerts:concern-list")
    return render(request, "alerts/concern_form.html", {"form": form})


@requires(Cap.FILE_CONCERN)
def concern_list(request: PrincipalRequest) -> HttpResponse:
    concerns = selectors.my_concerns(principal=request.principal)
    return render(request, "alerts/concern_list.html", {"concerns": concerns})


@requires(Cap.EDIT_RULESETS)
def ruleset_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    return render(
        request,
        "alerts/ruleset_list.html",
        {
            "rulesets": selectors.list_rulesets(principal=principal),
            "default_label": rules_mod.ruleset_title(rules_mod.default_active().label),
        },
    )


@requires(Cap.EDIT_RULESETS)
def ruleset_create(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.rule_units(principal=principal)
    initial: dict[str, Any] = {"source": rules_mod.default_source(), "unit": units.first()}
    if request.GET.get("rule_set"):  # start from a saved version (of the editor's own area)
        saved = selectors.get_ruleset(principal=principal, code=request.GET["rule_set"])
        initial.update(source=saved.source, unit=saved.unit, stage=saved.stage)
    if "dry_run" in request.POST:
        return _dry_run(request, units, initial)
    form = RuleSetForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_ruleset(
                actor=request.user,
                unit=data["unit"],
                stage=data["stage"],
                source=data["source"],
                note=data["note"],
            )
        except DomainError as exc:
            apply_service_error(form, exc, default_field="source")
        else:
            messages.success(request, _("A new version of the rules is in force."))
            return redirect("alerts:ruleset-list")
    return render(request, "alerts/ruleset_form.html", {"form": form, "trial": DryRunForm()})


def _dry_run(request: PrincipalRequest, units: Any, initial: dict[str, Any]) -> HttpResponse:
    """The editor's text evaluated on one student's typed answers; nothing is saved."""
    posted = {k: request.POST.get(k, "") for k in ("unit", "stage", "source", "note")}
    form = RuleSetForm(units=units, initial={**initial, **posted})
    trial = DryRunForm(request.POST)
    result = None
    if trial.is_valid():
        try:
            ruleset = rules_mod.parse_rules(posted["source"])
            answers = {
                code: parse_answers(text, code=code) for code, text in trial.answers_text().items()
            }
            result = dry_run(ruleset=ruleset, answers=answers, age=trial.cleaned_data["age"])
        except DomainError as exc:
            trial.add_error(None, exc.message)
    return render(
        request, "alerts/ruleset_form.html", {"form": form, "trial": trial, "result": result}
    )
