"""The staff registry in the JSON API (issue 14): list, read, create, update, add and end a post,
record leaving. Same access layer as the pages: a staff record outside the user's staff scope is a
404; in their view scope without the edit capability a 403. A refused rule is a 400 with the
message in the user's language."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.access.staffing import staff_leaves
from xinqiao.core.errors import DomainError
from xinqiao.people import selectors as people
from xinqiao.people.models import Staff, StaffPosition
from xinqiao.people.staffing import selectors, services

router = Router(tags=["staff"])
PAGE_SIZE = 100


class PositionOut(Schema):
    id: int
    position: str
    unit: str
    start_date: date | None
    end_date: date | None


class StaffOut(Schema):
    code: UUID
    name: str
    gender: str
    staff_number: str
    unit: UUID
    unit_name: str
    employment_status: str
    is_active: bool
    has_account: bool
    positions: list[PositionOut]


class StaffPage(Schema):
    count: int
    page: int
    pages: int
    results: list[StaffOut]


class StaffFilter(Schema):
    q: str = ""
    position: str = ""
    unit: UUID | None = None
    page: int = 1


class StaffIn(Schema):
    name: str
    unit: UUID
    gender: str = ""
    phone: str = ""
    staff_number: str = ""
    employment_status: str = "employed"
    position: str = ""
    start_date: date | None = None


class StaffPatch(Schema):
    name: str | None = None
    unit: UUID | None = None
    gender: str | None = None
    phone: str | None = None
    staff_number: str | None = None
    employment_status: str | None = None


class PositionIn(Schema):
    position: str
    unit: UUID | None = None
    start_date: date | None = None


class EndIn(Schema):
    end_date: date | None = None


def _out(staff: Staff, *, all_posts: bool = False) -> dict[str, Any]:
    posts = staff.positions.all() if all_posts else getattr(staff, "current_positions", [])
    return {
        "code": staff.code,
        "name": staff.name,
        "gender": staff.gender,
        "staff_number": staff.staff_number,
        "unit": staff.org_unit.code,
        "unit_name": staff.org_unit.name,
        "employment_status": staff.employment_status,
        "is_active": staff.is_active,
        "has_account": staff.user_id is not None,
        "positions": [
            {
                "id": p.pk,
                "position": p.position,
                "unit": p.org_unit.name,
                "start_date": p.start_date,
                "end_date": p.end_date,
            }
            for p in posts
        ],
    }


def _unit(request: HttpRequest, code: UUID) -> Any:
    unit = selectors.editable_units(principal=principal_for(request.user)).filter(code=code).first()
    if unit is None:
        raise Http404
    return unit


def _refused(exc: DomainError) -> HttpError:
    return HttpError(400, str(exc))


@router.get("", response=StaffPage, summary="Staff in scope (current posts)")
def staff_list(request: HttpRequest, filters: Query[StaffFilter]) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_STAFF)
    unit = None
    if filters.unit:
        unit = principal.units(Cap.VIEW_STAFF).filter(code=filters.unit).first()
        if unit is None:
            raise Http404
    qs = people.list_staff(
        principal=principal, position=filters.position, unit=unit, text=filters.q
    )
    page = Paginator(qs, PAGE_SIZE).get_page(filters.page)
    return {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "results": [_out(s) for s in page],
    }


@router.get("/{code}", response=StaffOut, summary="One staff record with its post history")
def staff_detail(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_STAFF)
    return _out(selectors.get_staff(principal=principal, code=code), all_posts=True)


@router.post("", response={201: StaffOut}, summary="Create a staff record (no account)")
def staff_create(request: HttpRequest, payload: StaffIn) -> Status:
    principal_for(request.user).require(Cap.EDIT_STAFF)
    unit = _unit(request, payload.unit)
    try:
        staff = services.create_staff_record(
            actor=principal_for(request.user).user,
            name=payload.name,
            org_unit=unit,
            gender=payload.gender,
            phone=payload.phone,
            staff_number=payload.staff_number,
            employment_status=payload.employment_status,
            positions=[(payload.position, None, payload.start_date)] if payload.position else [],
        )
    except DomainError as exc:
        raise _refused(exc) from exc
    except Exception as exc:
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise HttpError(400, "; ".join(exc.messages)) from exc
        raise
    return Status(201, _out(staff, all_posts=True))


@router.patch("/{code}", response=StaffOut, summary="Update a staff record")
def staff_update(request: HttpRequest, code: UUID, payload: StaffPatch) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_STAFF)
    staff = selectors.get_staff(principal=principal, code=code, cap=Cap.EDIT_STAFF)
    changes = payload.dict(exclude_none=True)
    if "unit" in changes:
        changes["org_unit"] = _unit(request, changes.pop("unit"))
    try:
        services.update_staff(actor=principal_for(request.user).user, staff=staff, **changes)
    except DomainError as exc:
        raise _refused(exc) from exc
    except Exception as exc:
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise HttpError(400, "; ".join(exc.messages)) from exc
        raise
    return _out(selectors.get_staff(principal=principal, code=code), all_posts=True)


@router.post("/{code}/positions", response={201: StaffOut}, summary="Open a post")
def position_add(request: HttpRequest, code: UUID, payload: PositionIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_STAFF)
    staff = selectors.get_staff(principal=principal, code=code, cap=Cap.EDIT_STAFF)
    unit = None
    if payload.unit:
        unit = principal.units(Cap.EDIT_STAFF).filter(code=payload.unit).first()
        if unit is None:
            raise Http404
    try:
        services.add_position(
            actor=principal_for(request.user).user,
            staff=staff,
            position=payload.position,
            org_unit=unit,
            start_date=payload.start_date,
        )
    except DomainError as exc:
        raise _refused(exc) from exc
    return Status(201, _out(selectors.get_staff(principal=principal, code=code), all_posts=True))


@router.post("/{code}/positions/{pk}/end", response=StaffOut, summary="End a post")
def position_end(request: HttpRequest, code: UUID, pk: int, payload: EndIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_STAFF)
    staff = selectors.get_staff(principal=principal, code=code, cap=Cap.EDIT_STAFF)
    post = StaffPosition.objects.filter(staff=staff, pk=pk).select_related("staff").first()
    if post is None:
        raise Http404
    try:
        services.end_position(
            actor=principal_for(request.user).user, post=post, end_date=payload.end_date
        )
    except DomainError as exc:
        raise _refused(exc) from exc
    return _out(selectors.get_staff(principal=principal, code=code), all_posts=True)


@router.post("/{code}/leave", response=StaffOut, summary="Record leaving (离职)")
def leave(request: HttpRequest, code: UUID, payload: EndIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_STAFF)
    staff = selectors.get_staff(principal=principal, code=code, cap=Cap.EDIT_STAFF)
    try:
        staff_leaves(actor=principal_for(request.user).user, staff=staff, on=payload.end_date)
    except DomainError as exc:
        raise _refused(exc) from exc
    return _out(selectors.get_staff(principal=principal, code=code), all_posts=True)
