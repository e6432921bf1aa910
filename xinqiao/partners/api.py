"""JSON API of the partners app (registered under /api/v1/partners/ in xinqiao/api/api.py;
docs/partners.md): hospital areas (片区), the de-identified referral summary, a referred
student's psychiatrist's advice on the joint support plan, and a department account's figures.

The same selectors and services as the pages: 404 outside the reader's area, 403 without the
capability. The summary and the department figures are the pages' protected tables (small cells
hidden, `null`), never a name; a department officer or an expert reaches no endpoint that names
a child (tests/api/test_partners_api.py walks them all).
"""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.analytics.disclosure import SMALL_CELL
from xinqiao.audit.services import record_read

from . import selectors, services

router = Router(tags=["partners"])


def _person(user: Any) -> str | None:
    if user is None:
        return None
    return str(user.get_full_name() or user.first_name or user.get_username())


class HospitalAreaOut(Schema):
    code: UUID
    hospital: UUID
    hospital_name: str
    psychiatrist: str | None  # the username
    psychiatrist_name: str | None
    area: UUID
    area_name: str
    started_on: datetime.date
    ended_on: datetime.date | None


class ServedOut(Schema):
    hospital_name: str
    psychiatrist_name: str | None
    schools: list[str]


class HospitalAreasOut(Schema):
    areas: list[HospitalAreaOut]
    served: list[ServedOut]  # which schools each hospital (and psychiatrist) serves today


class HospitalAreaIn(Schema):
    hospital: UUID
    area: UUID  # a district or a school in the manager's area
    psychiatrist: str | None = None  # the username of a psychiatrist of that hospital
    started_on: datetime.date | None = None  # default today


class EndIn(Schema):
    ended_on: datetime.date | None = None  # default today


class SummaryRowOut(Schema):
    month: str | None  # "YYYY-MM"; null on the total row
    waiting: int | None  # null: a small cell, hidden
    seen: int | None
    feedback: int | None
    cancelled: int | None
    total: int | None
    median_days: float | None  # shown when at least SMALL_CELL visits are behind it


class SummaryOut(Schema):
    area: UUID
    area_name: str
    small_cell: int
    rows: list[SummaryRowOut]


class AdviceOut(Schema):
    code: UUID
    author: str | None
    advice: str
    review_on: datetime.date
    created_at: datetime.datetime


class AdviceIn(Schema):
    advice: str = Field(max_length=4000)
    review_on: datetime.date


class DepartmentAreaOut(Schema):
    area: UUID
    area_name: str
    departments: list[str]
    small_cell: int
    students: list[dict[str, Any]]
    cases: list[dict[str, Any]]  # open high-care cases by level
    circumstances: list[dict[str, Any]]  # civil affairs only: orphaned / unsupported, followed


def _area(row: Any) -> dict[str, Any]:
    return {
        "code": row.code,
        "hospital": row.hospital.code,
        "hospital_name": row.hospital.name,
        "psychiatrist": row.psychiatrist.get_username() if row.psychiatrist else None,
        "psychiatrist_name": _person(row.psychiatrist),
        "area": row.area.code,
        "area_name": row.area.name,
        "started_on": row.started_on,
        "ended_on": row.ended_on,
    }


# --- hospital areas -------------------------------------------------------------------------------
@router.get(
    "/hospital-areas",
    response=HospitalAreasOut,
    summary="Hospital areas in the reader's area and the schools each hospital serves",
)
def hospital_areas(request: HttpRequest) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_HOSPITAL_AREAS)
    return {
        "areas": [_area(row) for row in selectors.hospital_areas(principal=principal)[:1000]],
        "served": [
            {
                "hospital_name": s.hospital.name,
                "psychiatrist_name": _person(s.psychiatrist),
                "schools": s.schools,
            }
            for s in selectors.served_schools(principal=principal)
        ],
    }


@router.post(
    "/hospital-areas", response={201: HospitalAreaOut}, summary="Assign a hospital to an area"
)
def hospital_area_create(request: HttpRequest, payload: HospitalAreaIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_HOSPITAL_AREAS)
    hospitals = selectors.hospitals_in(principal=principal)
    hospital = hospitals.filter(code=payload.hospital).first()
    area = (
        selectors.area_units(principal=principal, cap=Cap.MANAGE_HOSPITAL_AREAS)
        .filter(code=payload.area)
        .first()
    )
    if hospital is None or area is None:
        raise Http404
    psychiatrist = None
    if payload.psychiatrist:
        psychiatrist = (
            selectors.psychiatrists_in(hospitals).filter(username=payload.psychiatrist).first()
        )
        if psychiatrist is None:
            raise Http404
    row = services.assign_hospital_area(
        actor=principal.user,
        hospital=hospital,
        area=area,
        psychiatrist=psychiatrist,
        started_on=payload.started_on,
    )
    return Status(201, _area(row))


@router.post(
    "/hospital-areas/{code}/end", response=HospitalAreaOut, summary="End an area assignment"
)
def hospital_area_end(request: HttpRequest, code: UUID, payload: EndIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_HOSPITAL_AREAS)
    row = selectors.get_hospital_area(principal=principal, code=code)
    return _area(
        services.end_hospital_area(actor=principal.user, row=row, ended_on=payload.ended_on)
    )


# --- the de-identified referral summary -----------------------------------------------------------
@router.get(
    "/referral-summary",
    response=list[SummaryOut],
    summary="Referrals of the reader's areas by month sent: counts only, no names",
)
def referral_summary(request: HttpRequest) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_REFERRAL_SUMMARY)
    return [
        {
            "area": s.area.code,
            "area_name": s.area.name,
            "small_cell": SMALL_CELL,
            "rows": [{**row, "month": row["unit"]} for row in s.rows],
        }
        for s in selectors.referral_summary(principal=principal)
    ]


# --- the psychiatrist's plan advice ---------------------------------------------------------------
def _advice(row: Any) -> dict[str, Any]:
    return {
        "code": row.code,
        "author": _person(row.author),
        "advice": row.advice,
        "review_on": row.review_on,
        "created_at": row.created_at,
    }


@router.get(
    "/referrals/{code}/advice",
    response=list[AdviceOut],
    summary="The referred student's psychiatrist's advice on the support plan",
)
def advice_list(request: HttpRequest, code: UUID) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.CONTRIBUTE_TO_PLAN)
    referral = selectors.referral_for_advice(principal=principal, code=code)
    record_read(
        actor=principal.user,
        obj=referral,
        fields=["plan_advice"],
        action="partners.plan_advice.viewed",
    )
    return [_advice(row) for row in selectors.referral_advice(referral)]


@router.post(
    "/referrals/{code}/advice",
    response={201: AdviceOut},
    summary="Add advice and a review date to the joint support plan",
)
def advice_add(request: HttpRequest, code: UUID, payload: AdviceIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.CONTRIBUTE_TO_PLAN)
    referral = selectors.referral_for_advice(principal=principal, code=code)
    row = services.add_plan_advice(
        actor=principal.user,
        referral=referral,
        advice=payload.advice,
        review_on=payload.review_on,
    )
    return Status(201, _advice(row))


# --- a department account's figures ---------------------------------------------------------------
@router.get(
    "/department-figures",
    response=list[DepartmentAreaOut],
    summary="A department account's aggregates of its area: never a name",
)
def department_figures(request: HttpRequest) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_DEPARTMENT_FIGURES)
    return [
        {
            "area": a.grant.area.code,
            "area_name": a.grant.area.name,
            "departments": a.departments,
            "small_cell": SMALL_CELL,
            "students": a.students,
            "cases": a.cases,
            "circumstances": a.circumstances,
        }
        for a in selectors.department_areas(principal=principal)
    ]
