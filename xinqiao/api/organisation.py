"""JSON API of school organisation and families (issue 14): the three school groups and their
gaps, a class's committee, a student's guardians and family circumstances
(docs/school-organisation.md, docs/family.md). Same access layer as the pages: 404 out of
scope, 403 without the capability.

Writes call the pages' services (each audited): appoint, replace and end a committee member
(`access.invitations`: the child's account and role come with the appointment; the boy-and-girl
rule is a warning in the response, never a refusal), set a group's members or add and end one,
add, correct and end a guardianship (ending it ends a parent's access), record and end a family
circumstance. A refused rule is a 400 in the user's language (xinqiao/api/api.py)."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from xinqiao.access import invitations
from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import Principal, principal_for
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.orgs.selectors import current_term
from xinqiao.people import selectors as people
from xinqiao.people import services
from xinqiao.people.models import CircumstanceSource, GroupKind, GroupRole, GuardianRelation

router = Router(tags=["school organisation and families"])


class GroupMemberOut(Schema):
    id: int
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
    id: int
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
    code: UUID
    kind: str
    source: str
    start_date: datetime.date
    end_date: datetime.date | None


class FamilyOut(Schema):
    guardians: list[GuardianOut]
    circumstances: list[CircumstanceOut]


class SignInOut(Schema):
    username: str
    code: str
    expires_at: datetime.datetime


class WarnedCommitteeOut(Schema):
    """A committee after a write: `warning` is the boy-and-girl warning (or null), and
    `sign_in` the child's one-time sign-in code when the appointment gave them an account
    without a password (shown once, never stored in clear: print it for the child)."""

    committee: CommitteeOut
    warning: str | None
    sign_in: SignInOut | None


class StudentIn(Schema):
    student: UUID


class EndIn(Schema):
    end_date: datetime.date | None = None  # default today


class GroupMembersIn(Schema):
    members: list[UUID]  # staff codes; the current members become exactly these
    leader: UUID | None = None  # one of them (added when missing)


class GroupMemberIn(Schema):
    staff: UUID
    role: GroupRole = GroupRole.MEMBER
    duty: str = Field(default="", max_length=100)
    start_date: datetime.date | None = None


class GuardianIn(Schema):
    relation: GuardianRelation
    name: str = Field(max_length=60)
    phone: str = Field(max_length=20)
    is_primary: bool = False
    start_date: datetime.date | None = None


class GuardianPatch(Schema):
    relation: GuardianRelation | None = None
    name: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, max_length=20)
    is_primary: bool | None = None
    start_date: datetime.date | None = None


class CircumstanceIn(Schema):
    kind: str  # one of people.models.FAMILY_FLAGS
    source: CircumstanceSource
    start_date: datetime.date | None = None
    note: str = Field(default="", max_length=500)


# --- reads ----------------------------------------------------------------------------------------
def _groups(principal: Principal, school: OrgUnit) -> list[dict[str, Any]]:
    return [
        {
            "kind": row.kind,
            "label": row.label,
            "gap": row.gap,
            "members": row.n_members,
            "member_list": [
                {
                    "id": m.pk,
                    "name": m.staff.name,
                    "role": m.role,
                    "duty": m.duty,
                    "since": m.start_date,
                }
                for m in row.members
            ],
        }
        for row in people.school_groups(principal=principal, school=school)
    ]


def _committee(principal: Principal, school_class: OrgUnit, term: Any) -> dict[str, Any]:
    committee = people.class_committee(principal=principal, school_class=school_class, term=term)
    return {
        "term": term.code if term else None,
        "boys": committee.boys,
        "girls": committee.girls,
        "pair_expected": committee.expected_pair,
        "pair_missing": committee.pair_missing,
        "members": [
            {"id": m.pk, "name": m.student.name, "gender": m.student.gender, "since": m.start_date}
            for m in committee.members
        ],
    }


def _family(principal: Principal, student: Any) -> dict[str, Any]:
    profile = people.student_profile(principal=principal, student=student)

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
                "code": c.code,
                "kind": c.kind,
                "source": c.source,
                "start_date": c.start_date,
                "end_date": c.end_date,
            }
            for c in profile.circumstances
        ],
    }


@router.get("/schools/{code}/groups", response=list[GroupOut], summary="A school's three groups")
def school_groups(request: HttpRequest, code: UUID) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_ORG_TREE)
    school = principal.get_unit(code)
    if school.kind != Kind.SCHOOL:
        raise Http404
    return _groups(principal, school)


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
    return _committee(principal, school_class, current_term())


@router.get("/students/{code}/family", response=FamilyOut, summary="Guardians and circumstances")
def student_family(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_STUDENTS)
    student = people.get_student(principal=principal, code=code, tier=Tier.T1)
    record_read(
        actor=principal.user,
        obj=student,
        fields=["guardians", "family_flags"],
        action="people.student.viewed",
    )
    return _family(principal, student)


# --- writes: the class committee ------------------------------------------------------------------
def _warned(
    principal: Principal,
    school_class: OrgUnit,
    term: Any,
    slip: invitations.Slip | None,
    response: HttpResponse,
) -> dict[str, Any]:
    committee = _committee(principal, school_class, term)
    warning = None
    if committee["pair_missing"]:
        warning = _(
            "Junior and senior high classes should have one boy and one girl as committee "
            "members (now: %(boys)s boys, %(girls)s girls)."
        ) % {"boys": committee["boys"], "girls": committee["girls"]}
    sign_in = None
    if slip is not None:
        response["Cache-Control"] = "no-store"
        sign_in = {
            "username": slip.username,
            "code": slip.code,
            "expires_at": slip.invitation.expires_at,
        }
    return {"committee": committee, "warning": warning, "sign_in": sign_in}


def _candidate(principal: Principal, school_class: OrgUnit, code: UUID) -> Any:
    """An enrolled student of the class in the user's scope, else a refusal."""
    found = (
        people.class_students(principal=principal, school_class=school_class)
        .enrolled()
        .filter(code=code)
        .first()
    )
    if found is None:
        raise DomainError(_("Choose a student of the class."), field="student")
    return found


@router.post(
    "/classes/{code}/committee",
    response={201: WarnedCommitteeOut},
    summary="Appoint a committee member this term (the pair rule is a warning)",
)
def committee_appoint(
    request: HttpRequest, response: HttpResponse, code: UUID, payload: StudentIn
) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_COMMITTEE)
    school_class = principal.get_unit(code, Cap.MANAGE_COMMITTEE)
    if school_class.kind != Kind.CLASS:
        raise Http404
    term = current_term()
    if term is None:
        raise Http404
    student = _candidate(principal, school_class, payload.student)
    _member, slip = invitations.appoint_committee_member(
        actor=principal.user, student=student, term=term
    )
    return Status(201, _warned(principal, school_class, term, slip, response))


@router.post(
    "/committee-members/{pk}/replace",
    response=WarnedCommitteeOut,
    summary="Replace a committee member by a student of the same class",
)
def committee_replace(
    request: HttpRequest, response: HttpResponse, pk: int, payload: StudentIn
) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_COMMITTEE)
    member = people.get_committee_member(principal=principal, pk=pk, cap=Cap.MANAGE_COMMITTEE)
    successor = _candidate(principal, member.school_class, payload.student)
    _new, slip = invitations.replace_committee_member(
        actor=principal.user, member=member, successor=successor
    )
    return _warned(principal, member.school_class, member.term, slip, response)


@router.post(
    "/committee-members/{pk}/end",
    response=WarnedCommitteeOut,
    summary="End a committee appointment (and the child's role at the class)",
)
def committee_end(
    request: HttpRequest, response: HttpResponse, pk: int, payload: EndIn
) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_COMMITTEE)
    member = people.get_committee_member(principal=principal, pk=pk, cap=Cap.MANAGE_COMMITTEE)
    invitations.end_committee_member(actor=principal.user, member=member, end_date=payload.end_date)
    return _warned(principal, member.school_class, member.term, None, response)


# --- writes: the three school groups --------------------------------------------------------------
def _managed_school(principal: Principal, code: UUID, kind: str) -> OrgUnit:
    school = principal.get_unit(code, Cap.MANAGE_SCHOOL_GROUPS)
    if school.kind != Kind.SCHOOL or kind not in GroupKind.values:
        raise Http404
    return school


def _school_staff(school: OrgUnit, codes: list[UUID]) -> dict[UUID, Any]:
    found = {s.code: s for s in people.school_staff(school=school).filter(code__in=codes)}
    if len(found) != len(set(codes)):
        raise DomainError(_("Only staff of this school can be members."), field="staff")
    return found


@router.put(
    "/schools/{code}/groups/{kind}",
    response=list[GroupOut],
    summary="Set a group's current members (those left out are ended, never deleted)",
)
def group_set(
    request: HttpRequest, code: UUID, kind: str, payload: GroupMembersIn
) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_SCHOOL_GROUPS)
    school = _managed_school(principal, code, kind)
    codes = list(dict.fromkeys([*payload.members, *([payload.leader] if payload.leader else [])]))
    staff = _school_staff(school, codes)
    services.set_group_members(
        actor=principal.user,
        school=school,
        kind=kind,
        members=[staff[c] for c in codes],
        leader=staff[payload.leader] if payload.leader else None,
    )
    return _groups(principal, school)


@router.post(
    "/schools/{code}/groups/{kind}/members",
    response={201: list[GroupOut]},
    summary="Add a staff member of the school to one of its groups",
)
def group_member_add(request: HttpRequest, code: UUID, kind: str, payload: GroupMemberIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_SCHOOL_GROUPS)
    school = _managed_school(principal, code, kind)
    staff = _school_staff(school, [payload.staff])[payload.staff]
    services.add_group_member(
        actor=principal.user,
        school=school,
        kind=kind,
        staff=staff,
        role=payload.role.value,
        duty=payload.duty,
        start_date=payload.start_date,
    )
    return Status(201, _groups(principal, school))


@router.post("/group-members/{pk}/end", response=list[GroupOut], summary="End a group membership")
def group_member_end(request: HttpRequest, pk: int, payload: EndIn) -> list[dict[str, Any]]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_SCHOOL_GROUPS)
    membership = people.get_group_member(principal=principal, pk=pk)
    services.end_group_member(
        actor=principal.user, membership=membership, end_date=payload.end_date
    )
    return _groups(principal, membership.group.school)


# --- writes: guardians and family circumstances ---------------------------------------------------
@router.post(
    "/students/{code}/guardians", response={201: FamilyOut}, summary="Add a guardian of a student"
)
def guardian_add(request: HttpRequest, code: UUID, payload: GuardianIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_FAMILIES)
    student = people.get_family_student(principal=principal, code=code)
    services.add_guardian(
        actor=principal.user,
        student=student,
        relation=payload.relation.value,
        name=payload.name,
        phone=payload.phone,
        is_primary=payload.is_primary,
        start_date=payload.start_date,
    )
    return Status(201, _family(principal, student))


@router.patch("/guardians/{code}", response=FamilyOut, summary="Correct a current guardianship")
def guardian_update(request: HttpRequest, code: UUID, payload: GuardianPatch) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_FAMILIES)
    guardian = people.get_guardian(principal=principal, code=code)
    services.update_guardian(
        actor=principal.user, guardian=guardian, **payload.dict(exclude_none=True)
    )
    return _family(principal, guardian.student)


@router.post(
    "/guardians/{code}/end",
    response=FamilyOut,
    summary="End a guardianship (and the parent's access to this child)",
)
def guardian_end(request: HttpRequest, code: UUID, payload: EndIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_FAMILIES)
    guardian = people.get_guardian(principal=principal, code=code)
    invitations.end_guardianship(actor=principal.user, guardian=guardian, end_date=payload.end_date)
    return _family(principal, guardian.student)


@router.post(
    "/students/{code}/circumstances",
    response={201: FamilyOut},
    summary="Record a family circumstance (with its date and source)",
)
def circumstance_add(request: HttpRequest, code: UUID, payload: CircumstanceIn) -> Status:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_FAMILIES)
    student = people.get_family_student(principal=principal, code=code)
    services.record_circumstance(
        actor=principal.user,
        student=student,
        kind=payload.kind,
        source=payload.source.value,
        start_date=payload.start_date,
        note=payload.note,
    )
    return Status(201, _family(principal, student))


@router.post("/circumstances/{code}/end", response=FamilyOut, summary="End a family circumstance")
def circumstance_end(request: HttpRequest, code: UUID, payload: EndIn) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.MANAGE_FAMILIES)
    row = people.get_circumstance(principal=principal, code=code)
    services.end_circumstance(actor=principal.user, circumstance=row, end_date=payload.end_date)
    return _family(principal, row.student)
