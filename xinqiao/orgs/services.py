"""Writes to the org tree and terms. Each function is one transaction with its audit event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor

from .models import ALLOWED_CHILDREN, PATH_END, Kind, OrgUnit, Term, path_segment

SCHOOL_FIELDS = ("school_code", "stage", "student_count", "township_central")
EDITABLE_FIELDS = (
    "name",
    "is_active",
    "sort_order",
    *SCHOOL_FIELDS,
    "district_kind",
    "grade_level",
    "entry_year",
)


def _check_child_allowed(parent: OrgUnit | None, kind: str) -> None:
    if parent is None:
        if kind != Kind.CITY:
            raise DomainError(_("Only a city can be the root of the tree."))
        return
    if kind not in ALLOWED_CHILDREN[parent.kind]:
        raise DomainError(
            _("A %(child)s cannot be placed under a %(parent)s.")
            % {"child": Kind(kind).label, "parent": Kind(parent.kind).label}
        )


def _school_of(parent: OrgUnit | None, unit: OrgUnit) -> OrgUnit | None:
    if unit.kind == Kind.SCHOOL:
        return unit
    return parent.school if parent is not None and parent.school_id else None


@transaction.atomic
def create_unit(
    *, actor: Actor, parent: OrgUnit | None, kind: str, name: str, **attrs: Any
) -> OrgUnit:
    _check_child_allowed(parent, kind)
    unit = OrgUnit(parent=parent, kind=kind, name=name.strip(), **attrs)
    unit.full_clean(exclude=["path", "school"])
    unit.save()
    unit.path = (parent.path if parent else "") + path_segment(unit.pk)
    unit.depth = parent.depth + 1 if parent else 0
    unit.school = _school_of(parent, unit)
    unit.save(update_fields=["path", "depth", "school"])
    record_event(
        actor=actor,
        action="orgs.unit.created",
        obj=unit,
        fields={"kind": kind, "name": unit.name, "parent": parent.pk if parent else None, **attrs},
    )
    return unit


@transaction.atomic
def update_unit(*, actor: Actor, unit: OrgUnit, **changes: Any) -> OrgUnit:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    changed = {k: v for k, v in changes.items() if getattr(unit, k) != v}
    if not changed:
        return unit
    before = {k: getattr(unit, k) for k in changed}
    for key, value in changed.items():
        setattr(unit, key, value)
    unit.full_clean(exclude=["path", "school", "parent"])
    unit.save(update_fields=list(changed))
    record_event(
        actor=actor,
        action="orgs.unit.updated",
        obj=unit,
        fields={k: [before[k], changed[k]] for k in changed},
    )
    return unit


@transaction.atomic
def move_unit(*, actor: Actor, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Re-hang a subtree: one UPDATE rewrites every descendant's path prefix."""
    if unit.contains(new_parent):
        raise DomainError(_("A unit cannot be moved under itself."))
    _check_child_allowed(new_parent, unit.kind)
    if unit.school_id and unit.kind != Kind.SCHOOL and new_parent.school_id != unit.school_id:
        # Students and their history belong to a school; classes move only within it.
        raise DomainError(_("Grades and classes can only be moved within their school."))
    old_prefix, old_parent = unit.path, unit.parent_id
    new_prefix = new_parent.path + path_segment(unit.pk)
    depth_shift = new_parent.depth + 1 - unit.depth
    OrgUnit.objects.filter(path__gte=old_prefix, path__lt=old_prefix + PATH_END).update(
        path=Concat(Value(new_prefix), Substr(F("path"), len(old_prefix) + 1)),
        depth=F("depth") + depth_shift,
    )
    OrgUnit.objects.filter(pk=unit.pk).update(parent=new_parent)
    unit.refresh_from_db()
    record_event(
        actor=actor,
        action="orgs.unit.moved",
        obj=unit,
        fields={"parent": [old_parent, new_parent.pk]},
    )
    return unit


@transaction.atomic
def create_term(
    *,
    actor: Actor,
    school_year_start: int,
    season: str,
    start_date: date,
    end_date: date,
    make_current: bool = False,
) -> Term:
    term = Term(
        code=Term.make_code(school_year_start, season),
        school_year_start=school_year_start,
        season=season,
        start_date=start_date,
        end_date=end_date,
    )
    if end_date <= start_date:
        raise DomainError(_("The term must end after it starts."), field="end_date")
    term.full_clean()
    term.save()
    record_event(actor=actor, action="orgs.term.created", obj=term, fields={"code": term.code})
    if make_current:
        set_current_term(actor=actor, term=term)
    return term


@transaction.atomic
def set_current_term(*, actor: Actor, term: Term) -> Term:
    Term.objects.filter(is_current=True).exclude(pk=term.pk).update(is_current=False)
    Term.objects.filter(pk=term.pk).update(is_current=True)
    term.is_current = True
    record_event(actor=actor, action="orgs.term.made_current", obj=term, fields={"code": term.code})
    return term
