"""JSON API of counselling rooms (registered under /api/v1/facilities/ in xinqiao/api/api.py):
the same selectors as the pages, 404 outside the user's areas, 403 without the capability."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Query, Router, Schema

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for

from . import selectors
from .checklist import BY_KEY

router = Router(tags=["facilities"])
PAGE_SIZE = 100


class RoomRow(Schema):
    unit_code: UUID
    unit: str
    kind: str
    parent: str
    status: str | None
    evaluated_on: datetime.date | None
    area_m2: Decimal | None


class RoomPage(Schema):
    count: int
    page: int
    pages: int
    counts: dict[str, int]
    results: list[RoomRow]


class RoomFilter(Schema):
    district: UUID | None = None
    status: str = ""
    page: int = 1


class AreaOut(Schema):
    function: str
    count: int
    area_m2: Decimal | None


class AnswerOut(Schema):
    item: str
    source: str
    text: str
    met: bool | None
    note: str
    has_photo: bool


class RoomOut(Schema):
    unit_code: UUID
    unit: str
    recorded: bool
    location: str
    area_m2: Decimal | None
    opening_hours: str
    equipment: list[str]
    status: str | None
    evaluated_on: datetime.date | None
    areas: list[AreaOut]
    checklist: list[AnswerOut]


@router.get("/rooms", response=RoomPage, summary="Schools and stations in scope with their room")
def rooms(request: HttpRequest, filters: Query[RoomFilter]) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_FACILITIES)
    units = selectors.units_in_scope(principal)
    district = None
    if filters.district is not None:
        district = selectors.district_choices(principal).filter(code=filters.district).first()
    in_district = selectors.filter_units(units, district=district)
    shown = selectors.filter_units(in_district, status=filters.status)
    page = Paginator(shown, PAGE_SIZE).get_page(filters.page)
    return {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "counts": selectors.status_counts(in_district),
        "results": [
            {
                "unit_code": u.code,
                "unit": u.name,
                "kind": u.kind,
                "parent": u.parent.name if u.parent else "",
                # annotations of selectors.units_in_scope
                "status": u.room_status,  # type: ignore[attr-defined]
                "evaluated_on": u.room_evaluated_on,  # type: ignore[attr-defined]
                "area_m2": u.room_area,  # type: ignore[attr-defined]
            }
            for u in page
        ],
    }


@router.get("/rooms/{code}", response=RoomOut, summary="One unit's counselling room")
def room(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_FACILITIES)
    unit = selectors.get_room_unit(principal=principal, code=code)
    found = selectors.room_of(unit=unit)
    rows = selectors.checklist(room=found)
    return {
        "unit_code": unit.code,
        "unit": unit.name,
        "recorded": found is not None,
        "location": found.location if found else "",
        "area_m2": found.area_m2 if found else None,
        "opening_hours": found.opening_hours if found else "",
        "equipment": found.equipment_lines if found else [],
        "status": found.status if found else None,
        "evaluated_on": found.evaluated_on if found else None,
        "areas": [
            {"function": a.function, "count": a.count, "area_m2": a.area_m2}
            for a in (found.areas.all() if found else [])
        ],
        "checklist": [
            {
                "item": r.item.key,
                "source": r.item.source,
                "text": str(BY_KEY[r.item.key].text),
                "met": r.answer.met if r.answer else None,
                "note": r.answer.note if r.answer else "",
                "has_photo": bool(r.answer and r.answer.photo_storage),
            }
            for r in rows
        ],
    }
