"""The authorization layer: which rows a user may see, at which tier, and what they may do.

Every selector, view, API endpoint, export and management command starts here:

    principal = principal_for(request.user)
    students = principal.students(tier=Tier.T1)        # a queryset, filtered in SQL
    principal.require(Cap.IMPORT_ROSTER)                # raises PermissionDenied (403)
    student = principal.get_student(code)               # Http404 when out of scope

Scopes are built from role assignments as SQL predicates over materialised paths, never by walking
the tree in Python. Other apps add scopes that depend on their own data (a psychiatrist's referred
students) through `register_student_scope`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest

from xinqiao.core.types import User
from xinqiao.orgs.models import Kind, OrgUnit, OrgUnitQuerySet, subtree_q
from xinqiao.people.models import Guardian, Staff, Student, StudentQuerySet

from .models import RoleAssignment
from .roles import ROLE_TIER, Cap, Role, Tier, role_has

# Precedence for showing "the" role of a user who holds several (audit log, home page).
ROLE_PRECEDENCE = [r.value for r in Role]

ExtraScope = Callable[["Principal", OrgUnit], Q]
_extra_student_scopes: dict[str, ExtraScope] = {}


def register_student_scope(role: str, build: ExtraScope) -> None:
    """Let another app define which students a role sees (e.g. psychiatrist → referrals)."""
    _extra_student_scopes[role] = build


# A capability whose students come from a relation of the user's own rather than from the area
# of the role that gives it (a mentor's current mentees: mentoring). With it, every grant holding
# the capability yields the relation's students (the builder gets the grant: it may keep to the
# grant's school), at most at `tier`, whatever the role's area and tier.
@dataclass(frozen=True)
class CapScope:
    build: Callable[[Principal, Grant], Q]
    tier: int


_cap_scopes: dict[str, CapScope] = {}


def register_cap_scope(cap: str, build: Callable[[Principal, Grant], Q], *, tier: int) -> None:
    """Let another app define which students a capability reaches (e.g. mentoring → mentees)."""
    _cap_scopes[cap] = CapScope(build, tier)


@dataclass(frozen=True)
class Grant:
    role: str
    unit: OrgUnit

    @property
    def area(self) -> OrgUnit:
        """The unit whose subtree the grant covers: a station serves its district."""
        if self.unit.kind in (Kind.STATION, Kind.CENTRE) and self.unit.parent is not None:
            return self.unit.parent
        return self.unit


@dataclass
class Principal:
    user: User | None  # None: not signed in
    grants: list[Grant] = field(default_factory=list)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    # --- what the user may do -----------------------------------------------------------------
    @cached_property
    def roles(self) -> list[str]:
        held = {g.role for g in self.grants}
        return [r for r in ROLE_PRECEDENCE if r in held]

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in self.roles]

    @property
    def primary_role(self) -> str:
        return self.roles[0] if self.roles else ""

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def can(self, cap: str) -> bool:
        return any(role_has(g.role, cap) for g in self.grants)

    def holds_apart_from(self, cap: str | None, other: str) -> bool:
        """Whether some role of this user gives `cap` (any role when None) without `other`
        (the navigation: a parent's own entries replace some staff ones, for parents only)."""
        return any(
            (cap is None or role_has(g.role, cap)) and not role_has(g.role, other)
            for g in self.grants
        )

    def require(self, cap: str) -> None:
        if not self.can(cap):
            raise PermissionDenied

    def grants_with(self, cap: str, tier: int = Tier.NONE) -> list[Grant]:
        return [g for g in self.grants if role_has(g.role, cap) and ROLE_TIER[g.role] >= tier]

    # --- which org units ------------------------------------------------------------------------
    def units(self, cap: str = Cap.VIEW_ORG_TREE) -> OrgUnitQuerySet:
        """Units in the subtrees this user may browse (or act on) with `cap`."""
        areas = [g.area for g in self.grants_with(cap)]
        return OrgUnit.objects.filter(subtree_q(*areas))

    def get_unit(self, code: Any, cap: str = Cap.VIEW_ORG_TREE) -> OrgUnit:
        unit = OrgUnit.objects.filter(code=code).select_related("parent").first()
        if unit is None or not self.sees_unit(unit, Cap.VIEW_ORG_TREE):
            raise Http404
        if not self.sees_unit(unit, cap):
            raise PermissionDenied
        return unit

    def sees_unit(self, unit: OrgUnit, cap: str) -> bool:
        return any(g.area.contains(unit) for g in self.grants_with(cap))

    # --- which students -------------------------------------------------------------------------
    def _grant_tier(self, grant: Grant, cap: str) -> int:
        relation = _cap_scopes.get(cap)
        tier = ROLE_TIER[grant.role]
        return min(tier, relation.tier) if relation is not None else tier

    def _student_q(self, grant: Grant, cap: str = Cap.VIEW_STUDENTS) -> Q:
        relation = _cap_scopes.get(cap)
        if relation is not None:
            return relation.build(self, grant)
        extra = _extra_student_scopes.get(grant.role)
        if extra is not None:
            return extra(self, grant.unit)
        if grant.role == Role.PARENT:
            # Only a current guardianship: ending it ends the parent's access to the child.
            own = Guardian.objects.current().filter(student=OuterRef("pk"), user=self.user)
            return Q(Exists(own)) & subtree_q(grant.unit, field="school__path")
        if grant.role == Role.PSYCHIATRIST:
            return Q(pk__in=[])  # until the cases app registers referrals
        area = grant.area
        # A school's or a class's students by their own column (an index on people_student the
        # planner can combine with a search's, see access/pickers.py); wider areas by path.
        if area.kind == Kind.SCHOOL:
            return Q(school_id=area.pk)
        if area.kind == Kind.CLASS:
            return Q(school_class_id=area.pk)
        if area.kind == Kind.GRADE:
            return subtree_q(area, field="school_class__path")
        return subtree_q(area, field="school__path")

    def students(self, *, tier: int = Tier.T1, cap: str = Cap.VIEW_STUDENTS) -> StudentQuerySet:
        """Students this user may see at `tier` or above."""
        q = Q(pk__in=[])
        for grant in self.grants_with(cap):
            if self._grant_tier(grant, cap) >= tier:
                q |= self._student_q(grant, cap)
        return Student.objects.filter(q)

    def get_student(
        self, code: Any, *, tier: int = Tier.T1, cap: str = Cap.VIEW_STUDENTS
    ) -> Student:
        """A student by opaque code: 404 out of scope, 403 when only a lower tier is allowed.
        `cap`: the capability whose grants count (a parent's is Cap.VIEW_OWN_CHILDREN)."""
        student = (
            Student.objects.filter(code=code)
            .select_related("school", "school_class", "school_class__parent")
            .first()
        )
        if student is None:
            raise Http404
        held = self.tier_for(student, cap=cap)
        if held == Tier.NONE:
            raise Http404
        if held < tier:
            raise PermissionDenied
        return student

    def tier_for(self, student: Student, *, cap: str = Cap.VIEW_STUDENTS) -> int:
        """Highest tier this user holds for one student (Tier.NONE when out of scope)."""
        best: int = Tier.NONE
        for grant in self.grants_with(cap):
            tier = self._grant_tier(grant, cap)
            if tier <= best:
                continue
            if Student.objects.filter(pk=student.pk).filter(self._student_q(grant, cap)).exists():
                best = tier
        return best

    # --- staff ----------------------------------------------------------------------------------
    def staff(self, cap: str = Cap.VIEW_STAFF) -> QuerySet[Staff]:
        areas = [g.area for g in self.grants_with(cap)]
        return Staff.objects.filter(subtree_q(*areas, field="org_unit__path"))


class PrincipalRequest(HttpRequest):
    """The request as a view behind `@requires(cap)` sees it: signed in (`user` is a real user)
    and carrying the principal PrincipalMiddleware set. Views annotate their request with it and
    read `request.principal`: the one way a view gets the principal, as `@requires` is the one
    way it declares its capability."""

    user: User
    principal: Principal


def principal_for(user: User | AnonymousUser | None) -> Principal:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return Principal(user=None)
    cached: Principal | None = getattr(user, "_xinqiao_principal", None)
    if cached is not None:
        return cached
    assignments: Iterable[RoleAssignment] = (
        RoleAssignment.objects.active().filter(user=user).select_related("org_unit__parent")
    )
    principal = Principal(user=user, grants=[Grant(a.role, a.org_unit) for a in assignments])
    user._xinqiao_principal = principal  # type: ignore[attr-defined]  # one per user object
    return principal
