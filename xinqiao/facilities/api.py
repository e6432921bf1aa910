"""JSON API of counselling rooms (registered under /api/v1/facilities/ in xinqiao/api/api.py):
the same selectors as the pages, 404 outside the user's areas, 403 without the capability.
Writes go through the services (one audit event each): the room's facts and functional rooms
(edit_facilities), checklist answers (edit_facilities; evidence photos are uploaded on the
page), an evaluation's status (evaluate_facilities: districts and the city)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.core.errors import DomainError

from . import selectors, services
from .checklist import BY_KEY
from .models import Function, RoomStatus

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


class AreaIn(Schema):
    function: Function
    count: int = Field(ge=0, le=50)
    area_m2: Decimal | None = Field(default=None, ge=0, max_digits=7, decimal_places=1)


class RoomIn(Schema):
    location: str
    area_m2: Decimal | None = Field(default=None, ge=0, max_digits=7, decimal_places=1)
    equipment: list[str] = []
    opening_hours: str = ""
    # None keeps the functional rooms as they are; a count of 0 removes one.
    areas: list[AreaIn] | None = None


class AnswerIn(Schema):
    met: bool
    note: str = Field(default="", max_length=200)


class EvaluationIn(Schema):
    status: RoomStatus
    evaluated_on: datetime.date
    note: str = ""


class EvaluationOut(Schema):
    status: str
    evaluated_on: datetime.date
    note: str


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
                "area_m2": selectors.listed_area(u),
            }
            for u in page
        ],
    }


@router.get("/rooms/{code}", response=RoomOut, summary="One unit's counselling room")
def room(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_FACILITIES)
    unit = selectors.get_room_unit(principal=principal, code=code)
    return _room_out(unit)


def _room_out(unit: Any) -> dict[str, Any]:
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


def _recorded_room(unit: Any, *, evaluation: bool = False) -> Any:
    found = selectors.room_of(unit=unit)
    if found is None and evaluation:
        raise DomainError(_("Record the room first, then its evaluation."))
    if found is None:
        raise DomainError(_("Record the room first, then its checklist."))
    return found


@router.put("/rooms/{code}", response=RoomOut, summary="Record or change a unit's room")
def room_save(request: HttpRequest, code: UUID, payload: RoomIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_FACILITIES)
    unit = selectors.get_room_unit(principal=principal, code=code, cap=Cap.EDIT_FACILITIES)
    areas = None
    if payload.areas is not None:
        areas = {a.function.value: (a.count, a.area_m2) for a in payload.areas}
    services.save_room(
        actor=principal.user,
        unit=unit,
        location=payload.location,
        area_m2=payload.area_m2,
        equipment="\n".join(line.strip() for line in payload.equipment if line.strip()),
        opening_hours=payload.opening_hours,
        areas=areas,
    )
    return _room_out(unit)


@router.put(
    "/rooms/{code}/checklist/{item}", response=AnswerOut, summary="Answer one checklist item"
)
def checklist_answer(
    request: HttpRequest, code: UUID, item: str, payload: AnswerIn
) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_FACILITIES)
    unit = selectors.get_room_unit(principal=principal, code=code, cap=Cap.EDIT_FACILITIES)
    answer = services.answer_item(
        actor=principal.user,
        room=_recorded_room(unit),
        item=item,
        met=payload.met,
        note=payload.note,
    )
    return {
        "item": answer.item,
        "source": BY_KEY[answer.item].source,
        "text": str(BY_KEY[answer.item].text),
        "met": answer.met,
        "note": answer.note,
        "has_photo": bool(answer.photo_storage),
    }


@router.post(
    "/rooms/{code}/evaluations",
    response={201: EvaluationOut},
    summary="Record an evaluation's status (districts and the city)",
)
def room_evaluate(request: HttpRequest, code: UUID, payload: EvaluationIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.EVALUATE_FACILITIES)
    unit = selectors.get_room_unit(principal=principal, code=code, cap=Cap.EVALUATE_FACILITIES)
    change = services.set_status(
        actor=principal.user,
        room=_recorded_room(unit, evaluation=True),
        status=payload.status.value,
        evaluated_on=payload.evaluated_on,
        note=payload.note,
    )
    out = {"status": change.status, "evaluated_on": change.evaluated_on, "note": change.note}
    return Status(201, out)
