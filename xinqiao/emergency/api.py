"""JSON API of crisis teams, emergency plans and the helplines (registered under
/api/v1/emergency/ in xinqiao/api/api.py): the pages' selectors, the same 404 / 403.

Writes as the pages allow them, through the services (each audited): a team of the city or of a
district and its members (edit_emergency, kept only inside the user's area: a district never
changes the city's team), a plan with its first version (a PDF or Word upload) and drills of the
units the user keeps, and the helpline directory (edit_hotlines: the city's lines by the city,
a district's by the district and the city)."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.core.helplines import helplines_for_principal

from . import selectors, services
from .models import EmergencyPlan, PlanKind, TeamRole

router = Router(tags=["emergency"])


class MemberOut(Schema):
    code: UUID
    name: str
    role: str
    organisation: str
    started_on: datetime.date


class TeamOut(Schema):
    code: UUID
    name: str
    unit: str
    duty_phone: str
    members: list[MemberOut]


class TeamIn(Schema):
    name: str = Field(max_length=100)
    duty_phone: str = Field(max_length=20)
    note: str = ""


class NewTeamIn(TeamIn):
    unit: UUID  # the city or a district the user keeps


class MemberIn(Schema):
    role: TeamRole
    started_on: datetime.date
    staff: UUID | None = None  # a staff record of the team's area, or an outside person:
    name: str = Field(default="", max_length=60)
    organisation: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=20)


class EndMemberIn(Schema):
    ended_on: datetime.date


class PlanIn(Schema):
    unit: UUID
    title: str = Field(max_length=150)
    kind: PlanKind
    effective_on: datetime.date
    summary: str = ""


class DrillOut(Schema):
    code: UUID
    unit: str
    plan: UUID | None
    held_on: datetime.date
    scenario: str
    participant_count: int
    findings: str


class DrillIn(Schema):
    unit: UUID
    plan: UUID | None = None
    held_on: datetime.date
    scenario: str
    participants: str = ""
    participant_count: int = Field(default=0, ge=0)
    findings: str = ""


class DirectoryLineOut(Schema):
    code: UUID
    unit: str | None  # None: a line of the city
    name: str
    number: str
    hours: str
    audience: str
    note: str
    order: int
    in_service: bool
    editable: bool


class HotlineIn(Schema):
    name: str = Field(max_length=100)
    number: str = Field(max_length=20)
    hours: str = Field(default="", max_length=60)
    audience: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=200)
    order: int = Field(default=100, ge=0)


class NewHotlineIn(HotlineIn):
    unit: UUID  # the city or a district whose lines the user edits


class HotlinePatch(Schema):
    name: str | None = Field(default=None, max_length=100)
    number: str | None = Field(default=None, max_length=20)
    hours: str | None = Field(default=None, max_length=60)
    audience: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=200)
    order: int | None = Field(default=None, ge=0)


class ActiveIn(Schema):
    in_service: bool


class VersionOut(Schema):
    number: int
    effective_on: datetime.date
    summary: str
    download: str


class PlanOut(Schema):
    code: UUID
    title: str
    kind: str
    unit: str
    in_force: bool
    versions: list[VersionOut]


def _plan(p: Any) -> dict[str, Any]:
    return {
        "code": p.code,
        "title": p.title,
        "kind": p.kind,
        "unit": p.unit.name,
        "in_force": p.is_active,
        "versions": [
            {
                "number": v.number,
                "effective_on": v.effective_on,
                "summary": v.summary,
                "download": reverse("emergency:version-download", args=[v.code]),
            }
            for v in sorted(p.versions.all(), key=lambda v: -v.number)
        ],
    }


class HotlineOut(Schema):
    number: str
    name: str


def _member(m: Any) -> dict[str, Any]:
    organisation = m.staff.org_unit.name if m.staff else m.organisation
    return {
        "code": m.code,
        "name": m.display_name,
        "role": m.role,
        "organisation": organisation,
        "started_on": m.started_on,
    }


def _team(team: Any, members: list[Any]) -> dict[str, Any]:
    return {
        "code": team.code,
        "name": team.name,
        "unit": team.unit.name,
        "duty_phone": team.duty_phone,
        "members": [_member(m) for m in members],
    }


@router.get("/teams", response=list[TeamOut], summary="Crisis teams in scope, current members")
def teams(request: HttpRequest) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_EMERGENCY)
    found = selectors.list_teams(principal=principal)
    return [_team(t, t.current_members) for t in found]  # type: ignore[attr-defined]


@router.get("/teams/{code}", response=TeamOut, summary="One crisis team, current members")
def team(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_EMERGENCY)
    found = selectors.get_team(principal=principal, code=code)
    return _team(found, [m for m in selectors.team_members(team=found) if m.is_current])


@router.get("/plans", response=list[PlanOut], summary="Emergency plans in scope, with versions")
def plans(request: HttpRequest) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_EMERGENCY)
    return [_plan(p) for p in selectors.list_plans(principal=principal)]


@router.get("/hotlines", response=list[HotlineOut], summary="The helplines for the signed-in user")
def hotlines(request: HttpRequest) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    return [{"number": n, "name": label} for n, label in helplines_for_principal(principal)]


# --- writes: teams --------------------------------------------------------------------------------
def _current_team(team: Any) -> dict[str, Any]:
    return _team(team, [m for m in selectors.team_members(team=team) if m.is_current])


@router.post("/teams", response={201: TeamOut}, summary="Set up the crisis team of a unit")
def team_create(request: HttpRequest, payload: NewTeamIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_EMERGENCY)
    unit = principal.get_unit(payload.unit, Cap.EDIT_EMERGENCY)
    if unit.kind not in services.TEAM_UNIT_KINDS:
        raise Http404
    team = services.create_team(
        actor=principal.user,
        unit=unit,
        name=payload.name,
        duty_phone=payload.duty_phone,
        note=payload.note,
    )
    return Status(201, _current_team(team))


@router.put("/teams/{code}", response=TeamOut, summary="Change a team's name, duty phone, note")
def team_update(request: HttpRequest, code: UUID, payload: TeamIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_EMERGENCY)
    team = selectors.get_team(principal=principal, code=code, keep=True)
    services.update_team(actor=principal.user, team=team, **payload.dict())
    return _current_team(team)


@router.post("/teams/{code}/members", response={201: TeamOut}, summary="Add a member to a team")
def member_add(request: HttpRequest, code: UUID, payload: MemberIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_EMERGENCY)
    team = selectors.get_team(principal=principal, code=code, keep=True)
    staff = None
    if payload.staff is not None:
        choices = selectors.staff_choices(principal=principal, unit=team.unit)
        staff = choices.filter(code=payload.staff).first()
        if staff is None:
            raise Http404
    services.add_member(
        actor=principal.user,
        team=team,
        role=payload.role.value,
        started_on=payload.started_on,
        staff=staff,
        name=payload.name,
        organisation=payload.organisation,
        phone=payload.phone,
    )
    return Status(201, _current_team(team))


@router.post("/members/{code}/end", response=TeamOut, summary="End a member's service")
def member_end(request: HttpRequest, code: UUID, payload: EndMemberIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_EMERGENCY)
    member = selectors.get_member(principal=principal, code=code)
    services.end_member(actor=principal.user, member=member, ended_on=payload.ended_on)
    return _current_team(member.team)


# --- writes: plans and drills ---------------------------------------------------------------------
def _kept_unit(principal: Any, code: UUID) -> Any:
    """A unit the user may add a plan or a drill to (their area or a station in it): 404
    outside what they see, 403 for a unit they see but do not keep."""
    unit = selectors.keepable_units(principal=principal).filter(code=code).first()
    if unit is None:
        principal.get_unit(code, Cap.VIEW_EMERGENCY)  # 404 outside the user's areas
        raise PermissionDenied
    return unit


@router.post(
    "/plans",
    response={201: PlanOut},
    summary="Add an emergency plan with its first version (multipart: fields and `document`)",
)
def plan_create(
    request: HttpRequest, payload: Form[PlanIn], document: File[UploadedFile]
) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_EMERGENCY)
    unit = _kept_unit(principal, payload.unit)
    plan = services.create_plan(
        actor=principal.user,
        unit=unit,
        title=payload.title,
        kind=payload.kind.value,
        document=document,
        effective_on=payload.effective_on,
        summary=payload.summary,
    )
    return Status(201, _plan(selectors.get_plan(principal=principal, code=plan.code)))


def _drill(d: Any) -> dict[str, Any]:
    return {
        "code": d.code,
        "unit": d.unit.name,
        "plan": d.plan.code if d.plan else None,
        "held_on": d.held_on,
        "scenario": d.scenario,
        "participant_count": d.participant_count,
        "findings": d.findings,
    }


@router.get("/drills", response=list[DrillOut], summary="Drills in scope, latest first")
def drills(request: HttpRequest, plan: UUID | None = None) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_EMERGENCY)
    found = selectors.get_plan(principal=principal, code=plan) if plan else None
    return [_drill(d) for d in selectors.list_drills(principal=principal, plan=found)[:500]]


@router.post("/drills", response={201: DrillOut}, summary="Record a drill")
def drill_create(request: HttpRequest, payload: DrillIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_EMERGENCY)
    unit = _kept_unit(principal, payload.unit)
    plan = None
    if payload.plan is not None:
        plan = EmergencyPlan.objects.filter(
            selectors.kept_q(principal), code=payload.plan, is_active=True
        ).first()
        if plan is None:
            raise Http404
    drill = services.record_drill(
        actor=principal.user,
        unit=unit,
        plan=plan,
        held_on=payload.held_on,
        scenario=payload.scenario,
        participants=payload.participants,
        participant_count=payload.participant_count,
        findings=payload.findings,
    )
    return Status(201, _drill(drill))


# --- writes: the helpline directory ---------------------------------------------------------------
def _line(principal: Any, line: Any) -> dict[str, Any]:
    return {
        "code": line.code,
        "unit": line.unit.name if line.unit else None,
        "name": line.name,
        "number": line.number,
        "hours": line.hours,
        "audience": line.audience,
        "note": line.note,
        "order": line.order,
        "in_service": line.is_active,
        "editable": selectors.can_edit_hotline(principal, line),
    }


@router.get(
    "/helplines", response=list[DirectoryLineOut], summary="The helpline directory an editor keeps"
)
def helpline_list(request: HttpRequest) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_HOTLINES)
    return [_line(principal, line) for line in selectors.list_hotlines(principal=principal)]


@router.post("/helplines", response={201: DirectoryLineOut}, summary="Add a helpline")
def helpline_create(request: HttpRequest, payload: NewHotlineIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_HOTLINES)
    unit = principal.get_unit(payload.unit, Cap.EDIT_HOTLINES)
    if unit.kind not in services.HOTLINE_UNIT_KINDS:
        raise Http404
    line = services.add_hotline(actor=principal.user, unit=unit, **payload.dict(exclude={"unit"}))
    return Status(201, _line(principal, line))


@router.patch("/helplines/{code}", response=DirectoryLineOut, summary="Change a helpline")
def helpline_update(request: HttpRequest, code: UUID, payload: HotlinePatch) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_HOTLINES)
    line = selectors.get_hotline(principal=principal, code=code)
    services.update_hotline(actor=principal.user, hotline=line, **payload.dict(exclude_none=True))
    return _line(principal, line)


@router.post(
    "/helplines/{code}/active",
    response=DirectoryLineOut,
    summary="Take a helpline out of service or back into it",
)
def helpline_active(request: HttpRequest, code: UUID, payload: ActiveIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.EDIT_HOTLINES)
    line = selectors.get_hotline(principal=principal, code=code)
    services.set_hotline_active(actor=principal.user, hotline=line, active=payload.in_service)
    return _line(principal, line)
