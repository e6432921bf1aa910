"""JSON API of crisis teams, emergency plans and the helplines (registered under
/api/v1/emergency/ in xinqiao/api/api.py): the pages' selectors, the same 404 / 403."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.core.helplines import helplines_for_principal

from . import selectors

router = Router(tags=["emergency"])


class MemberOut(Schema):
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


class HotlineOut(Schema):
    number: str
    name: str


def _member(m: Any) -> dict[str, Any]:
    organisation = m.staff.org_unit.name if m.staff else m.organisation
    return {
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
    return [
        {
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
        for p in selectors.list_plans(principal=principal)
    ]


@router.get("/hotlines", response=list[HotlineOut], summary="The helplines for the signed-in user")
def hotlines(request: HttpRequest) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    return [{"number": n, "name": label} for n, label in helplines_for_principal(principal)]
