"""Workforce endpoints (/api/v1/workforce/…): training records and the yearly summary, research
activities and their monthly indicator, registries and the expert pool. The same selectors and
services as the pages: 404 outside the scope, 403 for a role without the capability."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Kind
from xinqiao.workforce import selectors, services
from xinqiao.workforce.models import TrainingLevel, TrainingMode

router = Router(tags=["workforce"])


class TrainingOut(Schema):
    code: UUID
    staff: UUID
    course: str
    provider: str
    start_date: datetime.date
    end_date: datetime.date
    hours: Decimal
    level: str
    mode: str
    has_certificate: bool


class TrainingIn(Schema):
    course: str
    provider: str = ""
    start_date: datetime.date
    end_date: datetime.date | None = None
    hours: Decimal
    level: TrainingLevel
    mode: TrainingMode


class TallyOut(Schema):
    teachers: int
    met: int
    share: int | None
    categories: list[dict[str, Any]]


class TeacherOut(Schema):
    staff: UUID
    name: str
    category: str
    hours: Decimal
    courses: int
    met: bool


class PartOut(Schema):
    unit: UUID
    name: str
    tally: TallyOut


class SummaryOut(Schema):
    unit: UUID
    kind: str
    year: int
    tally: TallyOut
    teachers: list[TeacherOut] = []
    parts: list[PartOut] = []


class SummaryFilter(Schema):
    unit: UUID | None = None
    year: int | None = None


class ResearchOut(Schema):
    code: UUID
    district: UUID
    date: datetime.date
    theme: str
    organiser: str
    participants: int


class ResearchIn(Schema):
    district: UUID
    date: datetime.date
    theme: str
    organiser: str = ""
    participants: list[UUID] = []
    notes: str = ""


class MonthOut(Schema):
    month: datetime.date
    count: int
    state: str


class IndicatorOut(Schema):
    district: UUID
    name: str
    met: int
    due: int
    months: list[MonthOut]


class RegistryOut(Schema):
    code: UUID
    kind: str
    name: str
    owner: str
    start_date: datetime.date
    end_date: datetime.date | None
    members: int
    events: int


class ExpertOut(Schema):
    code: UUID
    name: str
    affiliation: str
    expertise: str
    availability: str
    on_committee: bool
    is_active: bool


def _tally(tally: selectors.Tally) -> dict[str, Any]:
    categories = [{**c, "label": str(c["label"])} for c in tally.categories()]
    return {
        "teachers": tally.teachers,
        "met": tally.met,
        "share": tally.share,
        "categories": categories,
    }


def _training(record: Any) -> dict[str, Any]:
    return {
        "code": record.code,
        "staff": record.staff.code,
        "course": record.course,
        "provider": record.provider,
        "start_date": record.start_date,
        "end_date": record.end_date,
        "hours": record.hours,
        "level": record.level,
        "mode": record.mode,
        "has_certificate": bool(record.certificate_storage),
    }


@router.get("/training/summary", response=SummaryOut, summary="Training hours against R13")
def training_summary(request: HttpRequest, filters: Query[SummaryFilter]) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_WORKFORCE)
    unit = selectors.summary_unit(principal=principal, code=filters.unit)
    year = filters.year or selectors.current_school_year()
    out: dict[str, Any] = {"unit": unit.code, "kind": unit.kind, "year": year}
    if unit.kind == Kind.SCHOOL:
        rows, tally = selectors.school_training(principal=principal, school=unit, year=year)
        out["teachers"] = [
            {
                "staff": r.staff.code,
                "name": r.staff.name,
                "category": r.category,
                "hours": r.hours,
                "courses": r.courses,
                "met": r.met,
            }
            for r in rows
        ]
    else:
        parts, tally = selectors.area_training(principal=principal, unit=unit, year=year)
        out["parts"] = [
            {"unit": p.unit.code, "name": p.unit.name, "tally": _tally(p.tally)} for p in parts
        ]
    out["tally"] = _tally(tally)
    return out


@router.get("/staff/{code}/training", response=list[TrainingOut], summary="A teacher's training")
def staff_training(request: HttpRequest, code: UUID) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_WORKFORCE)
    staff = selectors.get_staff(principal=principal, code=code)
    return [_training(r) for r in selectors.list_staff_training(principal=principal, staff=staff)]


@router.post("/staff/{code}/training", response={201: TrainingOut}, summary="Record training")
def training_create(request: HttpRequest, code: UUID, payload: TrainingIn) -> Any:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_TRAINING)
    staff = selectors.get_staff(principal=principal, code=code, cap=Cap.EDIT_TRAINING)
    try:
        record = services.add_training(actor=principal.user, staff=staff, **payload.dict())
    except DomainError as refused:
        raise HttpError(400, str(refused)) from refused
    return Status(201, _training(record))


@router.delete("/training/{code}", response={204: None}, summary="Remove a training record")
def training_remove(request: HttpRequest, code: UUID) -> Any:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_TRAINING)
    record = selectors.get_training(principal=principal, code=code, cap=Cap.EDIT_TRAINING)
    services.remove_training(record, actor=principal.user)
    return Status(204, None)


@router.get("/research", response=list[ResearchOut], summary="Research activities in scope")
def research_list(request: HttpRequest, filters: Query[SummaryFilter]) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_WORKFORCE)
    district = principal.get_unit(filters.unit, Cap.VIEW_WORKFORCE) if filters.unit else None
    qs: Any = selectors.list_research(principal=principal, district=district, year=filters.year)
    return [
        {
            "code": a.code,
            "district": a.district.code,
            "date": a.date,
            "theme": a.theme,
            "organiser": a.organiser,
            "participants": a.n_participants,
        }
        for a in qs[:1000]
    ]


@router.post("/research", response={201: ResearchOut}, summary="Record a research activity")
def research_create(request: HttpRequest, payload: ResearchIn) -> Any:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_WORKFORCE)
    district = principal.get_unit(payload.district, Cap.EDIT_WORKFORCE)
    staff = list(principal.staff(Cap.VIEW_WORKFORCE).filter(code__in=payload.participants))
    if len(staff) != len(set(payload.participants)):
        raise HttpError(400, "unknown participant")
    try:
        activity = services.record_research_activity(
            actor=principal.user,
            district=district,
            date=payload.date,
            theme=payload.theme,
            organiser=payload.organiser,
            participants=staff,
            notes=payload.notes,
        )
    except DomainError as refused:
        raise HttpError(400, str(refused)) from refused
    out = {
        "code": activity.code,
        "district": district.code,
        "date": activity.date,
        "theme": activity.theme,
        "organiser": activity.organiser,
        "participants": len(staff),
    }
    return Status(201, out)


@router.get(
    "/research/indicator", response=list[IndicatorOut], summary="At least one activity a month"
)
def research_indicator(request: HttpRequest, filters: Query[SummaryFilter]) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_WORKFORCE)
    unit = selectors.research_unit(principal=principal, code=filters.unit)
    year = filters.year or selectors.current_school_year()
    _months, rows = selectors.research_indicator(principal=principal, unit=unit, year=year)
    return [
        {
            "district": r["district"].code,
            "name": r["district"].name,
            "met": r["met"],
            "due": r["due"],
            "months": r["cells"],
        }
        for r in rows
    ]


@router.get("/registries", response=list[RegistryOut], summary="Teams, competitions, studios")
def registry_list(request: HttpRequest, kind: str = "") -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_WORKFORCE)
    registries: Any = selectors.list_registries(principal=principal, kind=kind)
    return [
        {
            "code": r.code,
            "kind": r.kind,
            "name": r.name,
            "owner": r.owner.name,
            "start_date": r.start_date,
            "end_date": r.end_date,
            "members": r.n_members,
            "events": r.n_events,
        }
        for r in registries[:1000]
    ]


@router.get("/experts", response=list[ExpertOut], summary="The expert pool")
def expert_list(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_WORKFORCE)
    experts: Any = selectors.list_experts(principal=principal, text=q)
    return [
        {
            "code": e.code,
            "name": e.name,
            "affiliation": e.affiliation,
            "expertise": e.expertise,
            "availability": e.availability,
            "on_committee": e.on_committee > 0,
            "is_active": e.is_active,
        }
        for e in experts[:1000]
    ]
