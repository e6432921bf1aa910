"""Reads for the care of an open case: the three-level team, the support plan, follow-ups, the
guardian contact log, case documents, and the lists other areas show (my tasks, overdue
follow-ups). Every read starts from the case scope in selectors/common.py.

What each reader gets:
- psychology teacher of the school (and the district station for the cases it sees): everything,
  notes included (T3, `can_read_notes`), and the forms when `can_handle`;
- moral-education leader (school admin): the team, plan owner and dates, follow-up dates and
  whether one is overdue, guardian contact dates — never notes, plan text or what was said;
- team members of levels 2 and 3: only their own task and the student's name and class
  (`my_tasks`), never a level.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import Principal, principal_for
from xinqiao.alerts.models import Level
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Guardian

from ..models import (
    Case,
    CaseDocument,
    CaseStatus,
    CaseTeamMember,
    FollowUp,
    GuardianContact,
    SupportPlan,
    TeamTier,
)
from .common import can_handle, can_read_notes, visible_cases

# --- the team: who may be on it, at which level, with which task ------------------------------

# The role a member holds decides the team level (R6).
ROLE_TIER: dict[str, int] = {
    Role.SCHOOL_ADMIN: TeamTier.SCHOOL,
    Role.PSYCHOLOGY_TEACHER: TeamTier.SCHOOL,
    Role.HEAD_TEACHER: TeamTier.CLASS,
    Role.MENTOR: TeamTier.CLASS,
    Role.COMMITTEE_MEMBER: TeamTier.PEERS,
}
TEAM_ROLES = tuple(ROLE_TIER)

# Level 3 (classmates) only ever get this task; it is stored as the English source string and
# translated when shown.
TIER3_TASK = gettext_noop(
    "Keep an eye on your classmate and tell the psychology teacher about any change"
)
DEFAULT_TASKS: dict[str, str] = {
    Role.SCHOOL_ADMIN: gettext_noop("Oversee the case and approve level changes"),
    Role.PSYCHOLOGY_TEACHER: gettext_noop(
        "Own the case: follow-ups, guardian contact and referral"
    ),
    Role.HEAD_TEACHER: gettext_noop(
        "Watch the student in class, stay in touch with the family and report changes"
    ),
    Role.MENTOR: gettext_noop("Watch the student in your lessons and report changes"),
    Role.COMMITTEE_MEMBER: TIER3_TASK,
}
_STORED_DEFAULTS = frozenset(DEFAULT_TASKS.values())


def task_text(task: str) -> str:
    """A member's task as shown: the standard tasks are translated, typed ones shown as typed."""
    return gettext(task) if task in _STORED_DEFAULTS else task


def person_name(user: Any) -> str:
    """A staff member's name, a student's name (committee members), else the username."""
    if user is None:
        return "—"
    # A missing reverse one-to-one raises a subclass of AttributeError: getattr's default applies.
    staff = getattr(user, "staff", None)
    if staff is not None:
        return str(staff.name)
    student = getattr(user, "student", None)
    if student is not None:
        return str(student.name)
    return str(user.get_full_name() or user.get_username())


def _role_unit_fits(case: Case, role: str, unit: OrgUnit) -> bool:
    """Does a role held at `unit` make its holder a possible team member for this case?

    Level 1: school admin (moral-education leader) or psychology teacher assigned at the case's
    school. Level 2: the head teacher of the student's class; a mentor at that class, its grade or
    the school. Level 3: a committee member of the student's class."""
    school = case.school
    school_class = case.student.school_class
    if role in (Role.SCHOOL_ADMIN, Role.PSYCHOLOGY_TEACHER):
        return unit.pk == school.pk
    if school_class is None or not school.contains(school_class):
        return False
    if role in (Role.HEAD_TEACHER, Role.COMMITTEE_MEMBER):
        return unit.pk == school_class.pk
    if role == Role.MENTOR:
        return school.contains(unit) and unit.contains(school_class)
    return False


def _team_units(case: Case) -> list[int]:
    ids = [case.school_id]
    school_class = case.student.school_class
    if school_class is not None:
        ids += [u.pk for u in school_class.ancestors() if case.school.contains(u)]
        ids.append(school_class.pk)
    return ids


@dataclass(frozen=True)
class Candidate:
    user: Any
    role: str
    tier: int
    name: str

    @property
    def key(self) -> str:
        return f"{self.user.pk}:{self.role}"

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


def team_candidates(case: Case, *, roles: tuple[str, ...] = TEAM_ROLES) -> list[Candidate]:
    """Everyone who may join this case's team, one entry per (person, role), level by level.
    The student themselves (a committee member of their own class) is never a candidate."""
    assignments = (
        RoleAssignment.objects.active()
        .filter(role__in=roles, org_unit_id__in=_team_units(case), user__is_active=True)
        .exclude(user_id=case.student.user_id or 0)
        .select_related("user", "user__staff", "user__student", "org_unit")
        .order_by("id")
    )
    seen: set[tuple[int, str]] = set()
    found: list[Candidate] = []
    for a in assignments:
        if (a.user_id, a.role) in seen or not _role_unit_fits(case, a.role, a.org_unit):
            continue
        seen.add((a.user_id, a.role))
        found.append(Candidate(a.user, a.role, ROLE_TIER[a.role], person_name(a.user)))
    return sorted(found, key=lambda c: (c.tier, TEAM_ROLES.index(c.role), c.name, c.user.pk))


def holds_team_role(case: Case, *, user: Any, role: str) -> bool:
    if role not in ROLE_TIER or not getattr(user, "is_active", False):
        return False
    if case.student.user_id is not None and case.student.user_id == user.pk:
        return False
    units = RoleAssignment.objects.active().filter(user=user, role=role).select_related("org_unit")
    return any(_role_unit_fits(case, role, a.org_unit) for a in units)


@dataclass(frozen=True)
class TeamRow:
    member: CaseTeamMember
    name: str
    role_label: str
    tier_label: str
    task: str


def active_team(case: Case) -> list[TeamRow]:
    members = (
        CaseTeamMember.objects.filter(case=case, removed_at__isnull=True)
        .select_related("user", "user__staff", "user__student")
        .order_by("tier", "added_at", "id")
    )
    return [
        TeamRow(
            member=m,
            name=person_name(m.user),
            role_label=str(Role(m.role).label) if m.role in Role.values else m.role,
            tier_label=str(TeamTier(m.tier).label),
            task=task_text(m.task),
        )
        for m in members
    ]


@dataclass(frozen=True)
class Task:
    """One row of someone's "my tasks": who needs attention and what to do. No level, no notes."""

    student_code: Any
    student_name: str
    class_name: str
    school_name: str
    task: str
    tier: int
    since: datetime.datetime


def my_tasks(user: Any) -> list[Task]:
    """The active team memberships of `user` on open cases, while the user still holds the role
    the membership was given for (a head teacher who left the class stops seeing it)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    rows = (
        CaseTeamMember.objects.filter(
            user=user, removed_at__isnull=True, case__status=CaseStatus.OPEN
        )
        .select_related("case__school", "case__student__school_class")
        .order_by("case__student__school_class__path", "case__student__name", "id")
    )
    grants = principal_for(user).grants
    tasks: list[Task] = []
    for m in rows:
        case = m.case
        if not any(g.role == m.role and _role_unit_fits(case, m.role, g.unit) for g in grants):
            continue
        student = case.student
        tasks.append(
            Task(
                student_code=student.code,
                student_name=student.name,
                class_name=student.school_class.name if student.school_class else "",
                school_name=case.school.name,
                task=task_text(m.task),
                tier=m.tier,
                since=m.added_at,
            )
        )
    return tasks


# --- follow-ups --------------------------------------------------------------------------------


def overdue_follow_ups(
    principal: Principal, *, now: datetime.datetime | None = None
) -> QuerySet[Case]:
    """Open cases the user may see whose next follow-up is past due, most overdue first."""
    now = now or timezone.now()
    return (
        visible_cases(principal=principal)
        .open()
        .filter(next_follow_up_due__lt=now)
        .select_related("student", "student__school_class", "school", "owner", "owner__staff")
        .order_by("next_follow_up_due", "id")
    )


def follow_up_overdue(case: Case, *, now: datetime.datetime | None = None) -> bool:
    due = case.next_follow_up_due
    return bool(case.is_open and due is not None and due < (now or timezone.now()))


# --- support plan ------------------------------------------------------------------------------


def plan_owner_choices(case: Case) -> list[Any]:
    """Who may own the support plan: the school's psychology teachers and moral-education leaders
    (they can open the case page and read the plan)."""
    users = get_user_model()
    ids = (
        RoleAssignment.objects.active()
        .filter(
            role__in=[Role.PSYCHOLOGY_TEACHER, Role.SCHOOL_ADMIN],
            org_unit_id=case.school_id,
            user__is_active=True,
        )
        .values_list("user_id", flat=True)
    )
    people = list(users.objects.filter(pk__in=ids).select_related("staff"))
    return sorted(people, key=lambda u: (u.pk != case.owner_id, person_name(u), u.pk))


def current_plan(case: Case) -> SupportPlan | None:
    return SupportPlan.objects.filter(case=case).select_related("owner", "owner__staff").first()


# --- guardians ---------------------------------------------------------------------------------


def show_guardian_phone(principal: Principal, case: Case) -> bool:
    """Full phone numbers only for a grant with `view_guardian_contact` covering the student."""
    from xinqiao.people.selectors import covers

    return covers(principal=principal, student=case.student, cap=Cap.VIEW_GUARDIAN_CONTACT)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


@dataclass(frozen=True)
class GuardianRow:
    guardian: Guardian
    label: str
    phone: str


def case_guardians(case: Case, *, full_phone: bool) -> list[GuardianRow]:
    rows = []
    for g in (
        Guardian.objects.current().filter(student_id=case.student_id).order_by("-is_primary", "id")
    ):
        phone = g.phone if full_phone else mask_phone(g.phone)
        rows.append(GuardianRow(g, f"{g.name} ({g.get_relation_display()}) {phone}", phone))
    return rows


def guardian_contact(case: Case, contact_id: int) -> GuardianContact:
    contact = (
        GuardianContact.objects.filter(case=case, pk=contact_id).select_related("guardian").first()
    )
    if contact is None:
        raise Http404
    return contact


def acknowledgement_missing(contact: GuardianContact) -> bool:
    return contact.informed_of_level == Level.RED and contact.acknowledgement_id is None


# --- documents ---------------------------------------------------------------------------------


def get_document(*, principal: Principal, code: Any) -> CaseDocument:
    """A case document by code: 403 without `view_cases`, 404 when its case is out of scope,
    403 when the user may see the case but not its T3 material (the moral-education leader)."""
    principal.require(Cap.VIEW_CASES)
    document = CaseDocument.objects.filter(code=code).select_related("case", "case__school").first()
    if document is None:
        raise Http404
    if not visible_cases(principal=principal).filter(pk=document.case_id).exists():
        raise Http404
    if not can_read_notes(principal, document.case):
        raise PermissionDenied
    return document


# --- the panel on the case page ----------------------------------------------------------------

FOLLOW_UPS_SHOWN = 30


def care_panel(
    principal: Principal, case: Case, *, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """Everything the care panel shows this user. Notes, plan text and what was said with
    guardians only when `can_read_notes`; the caller audits that read."""
    now = now or timezone.now()
    notes = can_read_notes(principal, case)
    plans = list(
        SupportPlan.objects.filter(case=case).select_related(
            "owner", "owner__staff", "created_by", "created_by__staff"
        )
    )
    plan = plans[0] if plans else None
    follow_ups_qs = FollowUp.objects.filter(case=case).select_related(
        "recorded_by", "recorded_by__staff"
    )
    follow_ups = list(follow_ups_qs[:FOLLOW_UPS_SHOWN])
    contacts = list(
        GuardianContact.objects.filter(case=case).select_related(
            "guardian", "acknowledgement", "recorded_by", "recorded_by__staff"
        )
    )
    for c in contacts:
        c.ack_missing = acknowledgement_missing(c)  # type: ignore[attr-defined]
    today = timezone.localdate(now)
    return {
        "case": case,
        "can_handle": can_handle(principal, case) and case.is_open,
        "can_upload": can_handle(principal, case),
        "can_read_notes": notes,
        "team": active_team(case),
        "plan": plan,
        "plan_history": plans[1:],
        "plan_overdue": plan is not None and plan.review_on < today,
        "plan_owner_name": person_name(plan.owner) if plan else "",
        "follow_ups": follow_ups,
        "follow_up_count": follow_ups_qs.count() if len(follow_ups) == FOLLOW_UPS_SHOWN else None,
        "next_due": case.next_follow_up_due,
        "follow_up_overdue": follow_up_overdue(case, now=now),
        "contacts": contacts,
        "ack_missing_count": len([c for c in contacts if c.ack_missing]),  # type: ignore[attr-defined]
        "guardians": case_guardians(case, full_phone=show_guardian_phone(principal, case))
        if notes
        else [],
    }
