"""JSON API of school organisation and families (issue 14): the three school groups and their
gaps, a class's committee, a student's guardians and family circumstances. Read-only; the pages
write (docs/school-organisation.md, docs/family.md). Same access layer as the pages: 404 out of
scope, 403 without the capability."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_read
from xinqiao.orgs.models import Kind
from xinqiao.orgs.selectors import current_term
from xinqiao.people import selectors as people

router = Router(tags=["school organisation and families"])


class GroupMemberOut(Schema):
    name: str
    role: str
    duty: str
    since: datetime.date


class GroupOut(Schema):
    kind: str
    label: str
    gap: str  # "", "missing" or "no_principal"
    members: int
    member_list: list[GroupMemberOut]  # empty without view_staff


class SchoolGapsOut(Schema):
    school_code: UUID
    school_name: str
    gaps: list[str]  # group kinds


class CommitteeMemberOut(Schema):
    name: str
    gender: str
    since: datetime.date


class CommitteeOut(Schema):
    term: str | None
    boys: int
    girls: int
    pair_expected: bool
    pair_missing: bool
    members: list[CommitteeMemberOut]  # only students in the user's scope


class GuardianOut(Schema):
    code: UUID
    name: str
    relation: str
    phone: str  # masked without view_guardian_contact
    is_primary: bool
    start_date: datetime.date | None
    end_date: datetime.date | None
    has_account: bool


class CircumstanceOut(Schema):
    kind: str
    source: str
    start_date: datetime.date
    end_date: datetime.date | None


class FamilyOut(Schema):
    guardians: list[GuardianOut]
    circumstances: list[CircumstanceOut]


@router.get("/schools/{code}/groups", response=list[GroupOut], summary="A school's three groups")
def school_groups(request: HttpRequest, code: UUID) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_ORG_TREE)
    school = principal.get_unit(code)
    if school.kind != Kind.SCHOOL:
        raise Http404
    return [
        {
            "kind": row.kind,
            "label": row.label,
            "gap": row.gap,
            "members": row.n_members,
            "member_list": [
                {"name": m.staff.name, "role": m.role, "duty": m.duty, "since": m.start_date}
                for m in row.members
            ],
        }
        for row in people.school_groups(principal=principal, school=school)
    ]


@router.get(
    "/units/{code}/group-gaps",
    response=list[SchoolGapsOut],
    summary="Schools under a unit whose groups are missing, empty or not led by the principal",
)
def group_gaps(request: HttpRequest, code: UUID) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_ORG_TREE)
    unit = principal.get_unit(code)
    return [
        {
            "school_code": item.school.code,
            "school_name": item.school.name,
            "gaps": [row.kind for row in item.gaps],
        }
        for item in people.schools_with_group_gaps(principal=principal, within=unit)
    ]


@router.get("/classes/{code}/committee", response=CommitteeOut, summary="A class's committee")
def class_committee(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_ORG_TREE)
    school_class = principal.get_unit(code)
    if school_class.kind != Kind.CLASS:
        raise Http404
    term = current_term()
    committee = people.class_committee(principal=principal, school_class=school_class, term=term)
    return {
        "term": term.code if term else None,
        "boys": committee.boys,
        "girls": committee.girls,
        "pair_expected": committee.expected_pair,
        "pair_missing": committee.pair_missing,
        "members": [
            {"name": m.student.name, "gender": m.student.gender, "since": m.start_date}
            for m in committee.members
        ],
    }


@router.get("/students/{code}/family", response=FamilyOut, summary="Guardians and circumstances")
def student_family(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_STUDENTS)
    student = people.get_student(principal=principal, code=code, tier=Tier.T1)
    profile = people.student_profile(principal=principal, student=student)
    record_read(
        actor=principal.user,
        obj=student,
        fields=["guardians", "family_flags"],
        action="people.student.viewed",
    )

    def phone(value: str) -> str:
        return value if profile.show_guardian_phone else f"{value[:3]}****{value[-4:]}"

    return {
        "guardians": [
            {
                "code": g.code,
                "name": g.name,
                "relation": g.relation,
                "phone": phone(g.phone),
                "is_primary": g.is_primary,
                "start_date": g.start_date,
                "end_date": g.end_date,
                "has_account": g.user_id is not None,
            }
            for g in [*profile.guardians, *profile.ended_guardians]
        ],
        "circumstances": [
            {
                "kind": c.kind,
                "source": c.source,
                "start_date": c.start_date,
                "end_date": c.end_date,
            }
            for c in profile.circumstances
        ],
    }
