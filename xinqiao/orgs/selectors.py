"""Reads of the org tree and terms. Every function starts from the user's principal (access layer).

Counts per unit are computed in SQL with subtree range predicates on the materialised path
(`path >= P AND path < P || '~'`), one correlated subquery per figure — never by walking the tree
in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, Func, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.shortcuts import get_object_or_404

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.people.models import Student, StudentStatus

from .models import ALLOWED_CHILDREN, PATH_END, Kind, OrgUnit, OrgUnitQuerySet, Term

# Kinds whose students are counted through the class path (below a school) rather than the school's.
_BELOW_SCHOOL = (Kind.GRADE, Kind.CLASS)


def _outer_end() -> Concat:
    return Concat(OuterRef("path"), Value(PATH_END), output_field=CharField())


def _count(qs: Any) -> Coalesce:
    """COUNT(*) of a correlated queryset as a scalar subquery (0 when empty)."""
    counted = qs.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_counts(units: OrgUnitQuerySet, *, below_school: bool) -> OrgUnitQuerySet:
    """Annotate `n_students` (enrolled) and `n_classes` for each unit's whole subtree."""
    field = "school_class__path" if below_school else "school__path"
    students = Student.objects.filter(
        **{f"{field}__gte": OuterRef("path"), f"{field}__lt": _outer_end()},
        status=StudentStatus.ENROLLED,
    )
    classes = OrgUnit.objects.filter(
        kind=Kind.CLASS, is_active=True, path__gte=OuterRef("path"), path__lt=_outer_end()
    )
    return units.annotate(n_students=_count(students), n_classes=_count(classes))


def _top_areas(principal: Principal, cap: str) -> list[OrgUnit]:
    """The roots of the subtrees the user may browse, without ones nested in another."""
    areas = {g.area.pk: g.area for g in principal.grants_with(cap)}.values()
    return sorted(
        (a for a in areas if not any(o.pk != a.pk and o.contains(a) for o in areas)),
        key=lambda u: u.path,
    )


def list_top_units(*, principal: Principal) -> list[OrgUnit]:
    """The user's own top units (a city, a district, a school or a class), with counts."""
    tops = _top_areas(principal, Cap.VIEW_ORG_TREE)
    if not tops:
        return []
    qs = OrgUnit.objects.filter(pk__in=[u.pk for u in tops])
    # Top units may sit at different levels; count each with the right path.
    above = with_counts(qs.exclude(kind__in=_BELOW_SCHOOL), below_school=False)
    below = with_counts(qs.filter(kind__in=_BELOW_SCHOOL), below_school=True)
    return sorted([*above, *below], key=lambda u: u.path)


def get_unit(*, principal: Principal, code: Any, cap: str = Cap.VIEW_ORG_TREE) -> OrgUnit:
    """A unit by code: 404 outside the user's tree, 403 when visible but `cap` is missing."""
    return principal.get_unit(code, cap)


def unit_with_counts(*, unit: OrgUnit) -> OrgUnit:
    qs = OrgUnit.objects.filter(pk=unit.pk).select_related("parent", "school")
    return with_counts(qs, below_school=unit.kind in _BELOW_SCHOOL).get()


@dataclass(frozen=True)
class Crumb:
    unit: OrgUnit
    visible: bool  # False: an ancestor above the user's scope (shown as text, not a link)


def breadcrumbs(*, principal: Principal, unit: OrgUnit) -> list[Crumb]:
    """Ancestors from the root down, in one query."""
    return [Crumb(u, principal.sees_unit(u, Cap.VIEW_ORG_TREE)) for u in unit.ancestors()]


def list_children(*, principal: Principal, unit: OrgUnit) -> OrgUnitQuerySet:
    """Direct children the user may see, with counts, in display order."""
    children = principal.units(Cap.VIEW_ORG_TREE).filter(parent=unit)
    below = unit.kind in (Kind.SCHOOL, Kind.GRADE)
    return with_counts(children, below_school=below).order_by("-is_active", "sort_order", "name")


def can_edit(*, principal: Principal, unit: OrgUnit) -> bool:
    return bool(principal.sees_unit(unit, Cap.EDIT_ORG_TREE))


def can_restructure(*, principal: Principal, unit: OrgUnit) -> bool:
    """Deactivate or move needs the edit right on the parent: nobody removes their own root."""
    return unit.parent is not None and bool(principal.sees_unit(unit.parent, Cap.EDIT_ORG_TREE))


def addable_kinds(*, principal: Principal, unit: OrgUnit) -> list[tuple[str, Any]]:
    if not unit.is_active or not can_edit(principal=principal, unit=unit):
        return []
    return [(k.value, k.label) for k in Kind if k in ALLOWED_CHILDREN[unit.kind]]


def move_targets(*, principal: Principal, unit: OrgUnit, limit: int = 500) -> OrgUnitQuerySet:
    """Active units the user may edit that can take `unit` as a child (not inside it)."""
    kinds = [k for k, allowed in ALLOWED_CHILDREN.items() if unit.kind in allowed]
    qs = (
        principal.units(Cap.EDIT_ORG_TREE)
        .filter(kind__in=kinds, is_active=True)
        .exclude(Q(path__gte=unit.path, path__lt=unit.path + PATH_END))
        .exclude(pk__in=[unit.parent_id] if unit.parent_id is not None else [])  # its parent now
        .select_related("parent")
    )
    if unit.kind in _BELOW_SCHOOL and unit.school_id:
        qs = qs.filter(school_id=unit.school_id)
    # A filterable queryset (the form looks the choice up in it), capped at `limit` rows.
    first = qs.order_by("path").values("pk")[:limit]
    return qs.filter(pk__in=first).order_by("path")


def current_term() -> Term | None:
    return Term.objects.current()


def list_terms(*, principal: Principal) -> Any:
    principal.require(Cap.MANAGE_TERMS)
    return Term.objects.order_by("-start_date")


def get_term(*, principal: Principal, code: str) -> Term:
    principal.require(Cap.MANAGE_TERMS)
    return get_object_or_404(Term, code=code)
