"""Reads, from the access layer's principal: a unit's room (404 outside the user's areas, 403
without the capability), the list of rooms of the units in scope with their status counts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import Kind, OrgUnit

from .checklist import BY_KEY, Item, current_items
from .models import ChecklistAnswer, CounsellingRoom, RoomStatus
from .services import ROOM_UNIT_KINDS

NO_RECORD = "none"


def get_room_unit(*, principal: Principal, code: Any, cap: str = Cap.VIEW_FACILITIES) -> OrgUnit:
    """A school, station or centre by code: 404 outside the user's areas (or another kind of
    unit), 403 when the user lacks `cap` there."""
    unit = principal.get_unit(code, Cap.VIEW_ORG_TREE)
    if unit.kind not in ROOM_UNIT_KINDS:
        raise Http404
    if not principal.sees_unit(unit, Cap.VIEW_FACILITIES):
        raise Http404
    if not principal.sees_unit(unit, cap):
        raise PermissionDenied
    return unit


def room_of(*, unit: OrgUnit) -> CounsellingRoom | None:
    return (
        CounsellingRoom.objects.filter(unit=unit)
        .select_related("unit", "updated_by")
        .prefetch_related("areas")
        .first()
    )


@dataclass(frozen=True)
class ChecklistRow:
    item: Item
    answer: ChecklistAnswer | None


def checklist(*, room: CounsellingRoom | None) -> list[ChecklistRow]:
    answers = (
        {a.item: a for a in ChecklistAnswer.objects.filter(room=room)} if room is not None else {}
    )
    return [ChecklistRow(item, answers.get(item.key)) for item in current_items()]


def checklist_summary(rows: list[ChecklistRow]) -> dict[str, int]:
    return {
        "items": len(rows),
        "met": sum(1 for r in rows if r.answer is not None and r.answer.met),
        "answered": sum(1 for r in rows if r.answer is not None),
    }


def evaluations(*, room: CounsellingRoom | None) -> list[Any]:
    return list(room.evaluations.select_related("set_by")) if room is not None else []


def get_answer(*, principal: Principal, code: Any) -> ChecklistAnswer:
    answer = ChecklistAnswer.objects.select_related("room__unit").filter(code=code).first()
    if answer is None or not principal.sees_unit(answer.room.unit, Cap.VIEW_FACILITIES):
        raise Http404
    return answer


def item_label(key: str) -> str:
    item = BY_KEY.get(key)
    return str(item.text) if item is not None else key


# --- the list -------------------------------------------------------------------------------------
def units_in_scope(principal: Principal) -> QuerySet[OrgUnit]:
    """Schools, stations and the centre in the user's VIEW_FACILITIES areas, each annotated with
    its room's status, date of last evaluation and area (None: no room recorded)."""
    areas = [g.area for g in principal.grants_with(Cap.VIEW_FACILITIES)]
    if not areas:
        return OrgUnit.objects.none()
    rooms = CounsellingRoom.objects.filter(unit=OuterRef("pk"))
    return (
        OrgUnit.objects.within(*areas)
        .filter(kind__in=ROOM_UNIT_KINDS, is_active=True)
        .annotate(
            room_status=Subquery(rooms.values("status")[:1]),
            room_evaluated_on=Subquery(rooms.values("evaluated_on")[:1]),
            room_area=Subquery(rooms.values("area_m2")[:1]),
        )
        .select_related("parent")
        .order_by("path")
    )


def listed_area(unit: OrgUnit) -> Decimal | None:
    """The area annotated by `units_in_scope`, with one decimal place as the room's own field:
    SQLite drops the scale of a subquery's decimal (96) where PostgreSQL keeps it (96.0)."""
    area = unit.room_area  # type: ignore[attr-defined]
    return None if area is None else Decimal(area).quantize(Decimal("0.1"))


def filter_units(
    units: QuerySet[OrgUnit], *, district: OrgUnit | None = None, status: str = ""
) -> QuerySet[OrgUnit]:
    if district is not None:
        units = units.within(district)  # type: ignore[attr-defined]
    if status == NO_RECORD:
        units = units.filter(**{"room_status__isnull": True})  # an annotation
    elif status in RoomStatus.values:
        units = units.filter(**{"room_status": status})
    return units


def status_counts(units: QuerySet[OrgUnit]) -> dict[str, int]:
    """How many units of the list are below standard, compliant, model, or have no room."""
    counts = units.order_by().aggregate(
        total=Count("pk"),
        below=Count("pk", filter=Q(room_status=RoomStatus.BELOW)),
        compliant=Count("pk", filter=Q(room_status=RoomStatus.COMPLIANT)),
        model=Count("pk", filter=Q(room_status=RoomStatus.MODEL)),
        none=Count("pk", filter=Q(room_status__isnull=True)),
    )
    return {key: value or 0 for key, value in counts.items()}


def district_choices(principal: Principal) -> QuerySet[OrgUnit]:
    areas = [g.area for g in principal.grants_with(Cap.VIEW_FACILITIES)]
    if not areas:
        return OrgUnit.objects.none()
    return OrgUnit.objects.within(*areas).filter(kind=Kind.DISTRICT).order_by("path")
