"""Org tree browser, unit pages (school, class …), tree editing and terms. Thin: selectors read,
services write, the access layer decides (404 outside the scope, 403 for the wrong role)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error
from xinqiao.people import selectors as people_selectors

from . import selectors, services
from .forms import MoveForm, TermForm, unit_form
from .models import Kind, OrgUnit


@requires(Cap.VIEW_ORG_TREE)
def tree(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.list_top_units(principal=principal)
    # One top unit (the usual case): show what is below it straight away.
    children = (
        selectors.list_children(principal=principal, unit=units[0]) if len(units) == 1 else None
    )
    context = {"units": units, "children": children, "term": selectors.current_term()}
    return render(request, "orgs/tree.html", context)


def _unit_context(request: PrincipalRequest, unit: OrgUnit) -> dict[str, Any]:
    principal = request.principal
    term = selectors.current_term()
    context: dict[str, Any] = {
        "unit": selectors.unit_with_counts(unit=unit),
        "crumbs": selectors.breadcrumbs(principal=principal, unit=unit),
        "children": selectors.list_children(principal=principal, unit=unit),
        "can_edit": selectors.can_edit(principal=principal, unit=unit),
        "can_restructure": selectors.can_restructure(principal=principal, unit=unit),
        "addable_kinds": selectors.addable_kinds(principal=principal, unit=unit),
        "term": term,
        "can_view_students": principal.can(Cap.VIEW_STUDENTS),
    }
    if unit.kind in (Kind.DISTRICT, Kind.CITY):
        context["group_gaps"] = people_selectors.schools_with_group_gaps(
            principal=principal, within=unit
        )
    if unit.kind == Kind.SCHOOL:
        context["groups"] = people_selectors.school_groups(principal=principal, school=unit)
        context["can_manage_groups"] = principal.sees_unit(unit, Cap.MANAGE_SCHOOL_GROUPS)
        context["positions"] = people_selectors.position_summary(school=unit)
    if unit.kind == Kind.CLASS:
        context["head_teachers"] = people_selectors.head_teachers(school_class=unit)
        context["can_manage_committee"] = principal.sees_unit(unit, Cap.MANAGE_COMMITTEE)
        context["committee"] = people_selectors.class_committee(
            principal=principal, school_class=unit, term=term
        )
        context["students"] = people_selectors.class_students(
            principal=principal, school_class=unit
        )
    return context


@requires(Cap.VIEW_ORG_TREE)
def unit_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = selectors.get_unit(principal=request.principal, code=code)
    return render(request, "orgs/unit_detail.html", _unit_context(request, unit))


def _service_call(form: Any, call: Any) -> Any:
    try:
        return call()
    except (DomainError, ValidationError) as exc:
        apply_service_error(form, exc)
        return None


@requires(Cap.EDIT_ORG_TREE)
@require_http_methods(["GET", "POST"])
def unit_create(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    parent = selectors.get_unit(principal=principal, code=code, cap=Cap.EDIT_ORG_TREE)
    kinds = selectors.addable_kinds(principal=principal, unit=parent)
    if not kinds:
        raise PermissionDenied
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    if len(kinds) == 1:
        kind = kinds[0][0]
    if kind not in dict(kinds):
        context = {
            "parent": parent,
            "kinds": kinds,
            "crumbs": selectors.breadcrumbs(principal=principal, unit=parent),
        }
        return render(request, "orgs/unit_kind_choice.html", context)
    form = unit_form(kind, parent=parent, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        name = data.pop("name")
        created = _service_call(
            form,
            lambda: services.create_unit(
                actor=request.user, parent=parent, kind=kind, name=name, **data
            ),
        )
        if created is not None:
            messages.success(request, _("“%(name)s” was added.") % {"name": created.name})
            return redirect("orgs:unit-detail", code=created.code)
    context = {
        "form": form,
        "parent": parent,
        "kind": kind,
        "kind_label": Kind(kind).label,
        "crumbs": selectors.breadcrumbs(principal=principal, unit=parent),
    }
    return render(request, "orgs/unit_form.html", context)


@requires(Cap.EDIT_ORG_TREE)
@require_http_methods(["GET", "POST"])
def unit_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    unit = selectors.get_unit(principal=principal, code=code, cap=Cap.EDIT_ORG_TREE)
    form = unit_form(unit.kind, unit=unit, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        updated = _service_call(
            form, lambda: services.update_unit(actor=request.user, unit=unit, **form.cleaned_data)
        )
        if updated is not None:
            messages.success(request, _("The changes were saved."))
            return redirect("orgs:unit-detail", code=unit.code)
    context = {
        "form": form,
        "unit": unit,
        "kind": unit.kind,
        "kind_label": Kind(unit.kind).label,
        "crumbs": selectors.breadcrumbs(principal=principal, unit=unit),
    }
    return render(request, "orgs/unit_form.html", context)


@requires(Cap.EDIT_ORG_TREE)
@require_http_methods(["GET", "POST"])
def unit_move(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    unit = selectors.get_unit(principal=principal, code=code, cap=Cap.EDIT_ORG_TREE)
    if not selectors.can_restructure(principal=principal, unit=unit):
        raise PermissionDenied
    targets = selectors.move_targets(principal=principal, unit=unit)
    form = MoveForm(request.POST if request.method == "POST" else None, targets=targets)
    if request.method == "POST" and form.is_valid():
        new_parent = form.cleaned_data["new_parent"]
        moved = _service_call(
            form, lambda: services.move_unit(actor=request.user, unit=unit, new_parent=new_parent)
        )
        if moved is not None:
            messages.success(request, _("The unit was moved."))
            return redirect("orgs:unit-detail", code=unit.code)
    context = {
        "form": form,
        "unit": unit,
        "crumbs": selectors.breadcrumbs(principal=principal, unit=unit),
    }
    return render(request, "orgs/unit_move.html", context)


@require_POST
@requires(Cap.EDIT_ORG_TREE)
def unit_set_active(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    unit = selectors.get_unit(principal=principal, code=code, cap=Cap.EDIT_ORG_TREE)
    if not selectors.can_restructure(principal=principal, unit=unit):
        raise PermissionDenied
    active = request.POST.get("active") == "1"
    try:
        services.update_unit(actor=request.user, unit=unit, is_active=active)
    except (DomainError, ValidationError) as exc:
        text = exc.message if isinstance(exc, DomainError) else "; ".join(exc.messages)
        messages.error(request, text)
    else:
        messages.success(
            request, _("The unit was reactivated.") if active else _("The unit was deactivated.")
        )
    return redirect("orgs:unit-detail", code=unit.code)


@requires(Cap.MANAGE_TERMS)
@require_http_methods(["GET", "POST"])
def term_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    terms = selectors.list_terms(principal=principal)
    form = TermForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        created = _service_call(
            form, lambda: services.create_term(actor=request.user, **form.cleaned_data)
        )
        if created is not None:
            messages.success(request, _("The term %(term)s was created.") % {"term": created})
            return redirect("orgs:term-list")
    return render(request, "orgs/term_list.html", {"terms": terms, "form": form})


@require_POST
@requires(Cap.MANAGE_TERMS)
def term_make_current(request: PrincipalRequest, code: str) -> HttpResponse:
    term = selectors.get_term(principal=request.principal, code=code)
    services.set_current_term(actor=request.user, term=term)
    messages.success(request, _("%(term)s is now the current term.") % {"term": term})
    return redirect("orgs:term-list")
