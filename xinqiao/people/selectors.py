"""Reads of students, guardians, staff, committee members and school groups.

Every function starts from the user's principal (xinqiao.access.scope), so a list never holds a row
the user may not see, and an object outside the scope answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import Principal
from xinqiao.core.crypto import keyed_hash
from xinqiao.orgs.models import Kind, OrgUnit, Stage, Term, subtree_q

from .models import (
    FAMILY_FLAGS,
    CommitteeMember,
    CoverageArrangement,
    Enrolment,
    FamilyCircumstance,
    Gender,
    GroupKind,
    Guardian,
    Position,
    SchoolGroup,
    SchoolGroupMember,
    Staff,
    StaffPosition,
    Student,
    StudentQuerySet,
    current_q,
)
from .search import number_hash
from .validators import (
    STUDENT_NUMBER_RE,
    mask_id_number,
    normalise_id_number,
    normalise_student_number,
)

PSYCHOLOGY_RATIO = 800  # R12: one psychology teacher per 800 students


# --- students -----------------------------------------------------------------------------------
def _looks_like_id_number(text: str) -> bool:
    compact = normalise_id_number(text) if text else ""
    return len(compact) == 18 and compact[:17].isdigit()


def exact_number_kind(text: str) -> str:
    """ "id_number" or "student_number" when `text` is a whole number of that kind (the 学籍号
    embeds the ID number): such a search is audited and rate limited (services)."""
    text = (text or "").strip()
    if _looks_like_id_number(text):
        return "id_number"
    return "student_number" if STUDENT_NUMBER_RE.match(normalise_student_number(text)) else ""


def search_students(qs: StudentQuerySet, text: str) -> StudentQuerySet:
    """By name (contains), 学籍号 (exact) or 身份证号 (exact, through its keyed hash)."""
    text = text.strip()
    if not text:
        return qs
    q = Q(name__contains=text)
    number = normalise_student_number(text)
    if STUDENT_NUMBER_RE.match(number):
        q |= Q(student_number_hash=number_hash(number))
    if _looks_like_id_number(text):
        q |= Q(id_number_hash=keyed_hash(normalise_id_number(text)))
    return qs.filter(q)


def scoped_unit(*, principal: Principal, code: Any, cap: str = Cap.VIEW_STUDENTS) -> OrgUnit | None:
    """A unit inside the user's student scope, or None for unknown or out-of-scope codes."""
    if not code:
        return None
    return principal.units(cap).filter(code=code).first()


def list_students(
    *,
    principal: Principal,
    text: str = "",
    unit: OrgUnit | None = None,
    status: str = "",
    gender: str = "",
    flags: list[str] | tuple[str, ...] = (),
) -> StudentQuerySet:
    """Students the user may see (tier T1), filtered; `unit`: a district, school, grade, class."""
    qs = principal.students(tier=Tier.T1)
    if unit is not None:
        field = "school_class__path" if unit.kind in (Kind.GRADE, Kind.CLASS) else "school__path"
        qs = qs.filter(subtree_q(unit, field=field))
    if status:
        qs = qs.filter(status=status)
    if gender:
        qs = qs.filter(gender=gender)
    for flag in flags:
        if flag in FAMILY_FLAGS:
            qs = qs.filter(**{flag: True})
    qs = search_students(qs, text)
    return qs.select_related("school", "school_class").order_by(
        "school__path", "school_class__path", "name", "pk"
    )


def filter_units(
    *, principal: Principal, kind: str, within: OrgUnit | None = None, limit: int = 500
) -> list[OrgUnit]:
    """Units of one kind in the user's student scope (for filter drop-downs)."""
    qs = principal.units(Cap.VIEW_STUDENTS).filter(kind=kind, is_active=True)
    if within is not None:
        qs = qs.filter(subtree_q(within))
    return list(qs.order_by("path")[:limit])


def get_student(*, principal: Principal, code: Any, tier: int = Tier.T1) -> Student:
    return principal.get_student(code, tier=tier)


def mask_student_number(number: str) -> str:
    """A 全国学籍号 is usually 'G' + the 身份证号: mask it as the ID number is masked."""
    prefix = number[:1] if number[:1] in "GJL" and len(number) == 19 else ""
    rest = number[len(prefix) :]
    return prefix + mask_id_number(rest) if len(rest) == 18 else number


@dataclass
class StudentProfile:
    student: Student
    enrolments: list[Enrolment]
    guardians: list[Guardian]
    committee_terms: list[CommitteeMember]
    show_guardian_phone: bool
    can_reveal_id: bool
    can_edit: bool
    masked_student_number: str = ""
    family_flags: list[str] = field(default_factory=list)
    ended_guardians: list[Guardian] = field(default_factory=list)
    circumstances: list[FamilyCircumstance] = field(default_factory=list)
    can_manage_family: bool = False


def covers(*, principal: Principal, student: Student, cap: str) -> bool:
    """Does a grant holding `cap` cover this very student (not just any grant of the user)?"""
    if not principal.can(cap):
        return False
    return bool(principal.students(tier=Tier.T1, cap=cap).filter(pk=student.pk).exists())


def student_profile(*, principal: Principal, student: Student) -> StudentProfile:
    """What the profile page shows of a student already fetched through `get_student`."""
    return StudentProfile(
        student=student,
        enrolments=list(
            Enrolment.objects.filter(student=student).select_related(
                "term", "school", "school_class"
            )
        ),
        guardians=list(Guardian.objects.current().filter(student=student)),
        ended_guardians=list(
            Guardian.objects.filter(student=student).exclude(current_q()).order_by("-end_date")
        ),
        circumstances=list(
            FamilyCircumstance.objects.filter(student=student).select_related("recorded_by")
        ),
        can_manage_family=covers(principal=principal, student=student, cap=Cap.MANAGE_FAMILIES),
        committee_terms=list(
            CommitteeMember.objects.filter(student=student)
            .select_related("term", "school_class")
            .order_by("-term__start_date")
        ),
        show_guardian_phone=covers(
            principal=principal, student=student, cap=Cap.VIEW_GUARDIAN_CONTACT
        ),
        can_reveal_id=covers(principal=principal, student=student, cap=Cap.VIEW_FULL_ID_NUMBER),
        can_edit=covers(principal=principal, student=student, cap=Cap.EDIT_STUDENTS),
        masked_student_number=mask_student_number(student.student_number),
        family_flags=student.family_flags,
    )


# --- classes and schools ------------------------------------------------------------------------
def class_students(*, principal: Principal, school_class: OrgUnit) -> StudentQuerySet:
    return principal.students(tier=Tier.T1).filter(school_class=school_class).order_by("name", "pk")


def head_teachers(*, school_class: OrgUnit) -> list[Staff]:
    return list(
        Staff.objects.filter(
            positions__in=StaffPosition.objects.current().filter(
                position=Position.HEAD_TEACHER, org_unit=school_class
            )
        ).distinct()
    )


@dataclass
class Committee:
    members: list[CommitteeMember]  # only those the user may see
    boys: int
    girls: int
    expected_pair: bool  # junior / senior high: one boy and one girl expected

    @property
    def pair_missing(self) -> bool:
        return self.expected_pair and (self.boys < 1 or self.girls < 1)


def _expects_pair(school_class: OrgUnit) -> bool:
    grade = school_class.parent
    if grade is not None and grade.grade_level:
        return grade.grade_level >= 7
    school = school_class.school
    return school is not None and school.stage in (Stage.JUNIOR, Stage.SENIOR)


def class_committee(*, principal: Principal, school_class: OrgUnit, term: Term | None) -> Committee:
    """This term's committee members: names only within the user's scope, counts for everyone."""
    if term is None:
        return Committee([], 0, 0, _expects_pair(school_class))
    all_members = CommitteeMember.objects.filter(
        school_class=school_class, term=term, end_date__isnull=True
    )
    counts = dict(all_members.order_by().values_list("student__gender").annotate(n=Count("pk")))
    visible = principal.students(tier=Tier.T1)
    members = list(
        all_members.filter(student__in=visible).select_related("student").order_by("student__name")
    )
    return Committee(
        members=members,
        boys=counts.get(Gender.MALE, 0),
        girls=counts.get(Gender.FEMALE, 0),
        expected_pair=_expects_pair(school_class),
    )


@dataclass
class GroupRow:
    kind: str
    label: str
    group: SchoolGroup | None  # None: the school has not set this group up (a gap, R27)
    members: list[SchoolGroupMember]
    n_members: int = 0
    led_by_principal: bool = True  # the leadership group's leader is a principal of the school

    @property
    def gap(self) -> str:
        """Why this group is a compliance gap (R27), or "" when it is not."""
        if self.group is None or not self.n_members:
            return "missing"
        if self.kind == GroupKind.LEADERSHIP and not self.led_by_principal:
            return "no_principal"
        return ""


def _current_members() -> Prefetch[Any]:
    return Prefetch(
        "memberships",
        queryset=SchoolGroupMember.objects.filter(end_date__isnull=True)
        .select_related("staff")
        .order_by("-is_leader", "role", "staff__name"),
        to_attr="current_members",
    )


def _principal_ids(schools: list[OrgUnit]) -> set[int]:
    return set(
        StaffPosition.objects.filter(
            position=Position.PRINCIPAL, org_unit__in=schools, staff__is_active=True
        ).values_list("staff_id", flat=True)
    )


def _group_rows(
    groups: dict[str, SchoolGroup], principals: set[int], show_names: bool
) -> list[GroupRow]:
    rows = []
    for kind in GroupKind:
        group = groups.get(kind.value)
        current: list[SchoolGroupMember] = getattr(group, "current_members", []) if group else []
        leaders = [m.staff_id for m in current if m.is_leader]
        rows.append(
            GroupRow(
                kind.value,
                str(kind.label),
                group,
                current if show_names else [],
                n_members=len(current),
                led_by_principal=bool(leaders) and leaders[0] in principals,
            )
        )
    return rows


def school_groups(*, principal: Principal, school: OrgUnit) -> list[GroupRow]:
    """The three groups every school must have and their current members; member names only for
    users who may see staff."""
    groups = {
        g.kind: g
        for g in SchoolGroup.objects.filter(school=school).prefetch_related(_current_members())
    }
    return _group_rows(groups, _principal_ids([school]), principal.can(Cap.VIEW_STAFF))


def group_history(*, school: OrgUnit) -> list[SchoolGroupMember]:
    """Ended memberships of the school's groups, latest first (who held what when)."""
    return list(
        SchoolGroupMember.objects.filter(group__school=school, end_date__isnull=False)
        .select_related("staff", "group")
        .order_by("-end_date", "-id")[:200]
    )


def school_staff(*, school: OrgUnit) -> QuerySet[Staff]:
    """Active staff of one school (the group page's choices), the caller having checked scope."""
    return Staff.objects.filter(org_unit__school=school, is_active=True).order_by("name", "pk")


@dataclass
class SchoolGaps:
    school: OrgUnit
    gaps: list[GroupRow]


def schools_with_group_gaps(
    *, principal: Principal, within: OrgUnit, limit: int = 500
) -> list[SchoolGaps]:
    """Schools under `within` (in the user's tree scope) whose groups are missing, empty or (the
    leadership group) not led by a principal: a fixed number of queries."""
    schools = list(
        principal.units(Cap.VIEW_ORG_TREE)
        .filter(subtree_q(within), kind=Kind.SCHOOL, is_active=True)
        .order_by("path")[:limit]
    )
    by_school: dict[int, dict[str, SchoolGroup]] = {}
    for g in SchoolGroup.objects.filter(school__in=schools).prefetch_related(_current_members()):
        by_school.setdefault(g.school_id, {})[g.kind] = g
    principals = _principal_ids(schools)
    result = []
    for school in schools:
        rows = _group_rows(by_school.get(school.pk, {}), principals, show_names=False)
        gaps = [r for r in rows if r.gap]
        if gaps:
            result.append(SchoolGaps(school, gaps))
    return result


def get_group_member(*, principal: Principal, pk: int) -> SchoolGroupMember:
    """A group membership of a school the user may see (else 404) and manage (else 403)."""
    membership = (
        SchoolGroupMember.objects.filter(pk=pk).select_related("group__school", "staff").first()
    )
    if membership is None:
        raise Http404
    principal.get_unit(membership.group.school.code, Cap.MANAGE_SCHOOL_GROUPS)
    return membership


# --- committee page -----------------------------------------------------------------------------
@dataclass
class CommitteePage:
    committee: Committee
    current: list[CommitteeMember]
    history: list[CommitteeMember]
    candidates: list[Student]


def committee_page(*, principal: Principal, school_class: OrgUnit, term: Term) -> CommitteePage:
    """A class's committee this term (current and ended appointments) and who may be appointed,
    for a user who may manage it (the view checked the class against Cap.MANAGE_COMMITTEE)."""
    rows = list(
        CommitteeMember.objects.filter(school_class=school_class, term=term)
        .select_related("student", "student__user", "term")
        .order_by("end_date", "-start_date", "student__name")
    )
    current = [m for m in rows if m.end_date is None]
    taken = {m.student_id for m in current}
    candidates = [
        s
        for s in class_students(principal=principal, school_class=school_class).enrolled()
        if s.pk not in taken
    ]
    return CommitteePage(
        committee=class_committee(principal=principal, school_class=school_class, term=term),
        current=current,
        history=[m for m in rows if m.end_date is not None],
        candidates=candidates,
    )


def get_committee_member(*, principal: Principal, pk: int, cap: str) -> CommitteeMember:
    """An appointment whose class the user manages: 404 outside the tree scope, 403 without
    `cap` there."""
    member = (
        CommitteeMember.objects.filter(pk=pk)
        .select_related("student", "student__user", "school_class", "term")
        .first()
    )
    if member is None:
        raise Http404
    principal.get_unit(member.school_class.code, cap)
    return member


def position_summary(*, school: OrgUnit) -> list[tuple[str, int]]:
    """How many staff hold each position in the school (aggregate, no names)."""
    rows = (
        StaffPosition.objects.current()
        .filter(subtree_q(school, field="org_unit__path"), staff__is_active=True)
        .order_by()
        .values_list("position")
        .annotate(n=Count("staff", distinct=True))
    )
    counts = dict(rows)
    return [(str(p.label), counts[p.value]) for p in Position if counts.get(p.value)]


# --- staff --------------------------------------------------------------------------------------
def list_staff(
    *, principal: Principal, position: str = "", unit: OrgUnit | None = None, text: str = ""
) -> QuerySet[Staff]:
    qs = principal.staff()
    if unit is not None:
        qs = qs.filter(subtree_q(unit, field="org_unit__path"))
    if position:
        qs = qs.filter(
            positions__in=StaffPosition.objects.current().filter(position=position)
        ).distinct()
    if text.strip():
        qs = qs.filter(name__contains=text.strip())
    return (
        qs.select_related("org_unit", "org_unit__parent")
        .prefetch_related(
            Prefetch(
                "positions",
                queryset=StaffPosition.objects.current().select_related("org_unit"),
                to_attr="current_positions",
            )
        )
        .order_by("org_unit__path", "name", "pk")
    )


def staff_units(*, principal: Principal, limit: int = 500) -> list[OrgUnit]:
    """Schools, stations and the centre in the user's staff scope (for the filter)."""
    qs = principal.units(Cap.VIEW_STAFF).filter(
        kind__in=[Kind.DISTRICT, Kind.SCHOOL, Kind.STATION, Kind.CENTRE], is_active=True
    )
    return list(qs.order_by("path")[:limit])


@dataclass
class RatioRow:
    school: OrgUnit
    students: int
    full_time: int
    part_time: int
    # A current coverage arrangement (a supporting school or station), for small schools.
    covered_by: OrgUnit | None = None

    @property
    def required(self) -> int:
        """Psychology teachers needed at 1 : 800 (at least one full-time above 800 students)."""
        return -(-self.students // PSYCHOLOGY_RATIO) if self.students else 0

    @property
    def short(self) -> bool:
        if self.students > PSYCHOLOGY_RATIO and self.full_time < 1:
            return True
        if self.students <= PSYCHOLOGY_RATIO and self.covered_by is not None:
            return False  # a smaller school covered by a supporting school or station (seed §5)
        return self.full_time + self.part_time < self.required


def psychology_ratio(*, principal: Principal, limit: int = 200) -> list[RatioRow]:
    """Per school in the user's staff scope: enrolled students vs psychology teachers (R12)."""
    from xinqiao.orgs.selectors import with_counts

    schools = list(
        with_counts(
            principal.units(Cap.VIEW_STAFF).filter(kind=Kind.SCHOOL, is_active=True),
            below_school=False,
        ).order_by("path")[:limit]
    )
    if not schools:
        return []
    posts = (
        StaffPosition.objects.current()
        .filter(
            org_unit__school__in=schools,
            staff__is_active=True,
            position__in=[Position.PSYCHOLOGY_TEACHER_FULL, Position.PSYCHOLOGY_TEACHER_PART],
        )
        .order_by()
        .values_list("org_unit__school", "position")
        .annotate(n=Count("staff", distinct=True))
    )
    per: dict[tuple[int, str], int] = {(s, p): n for s, p, n in posts}
    covered = current_coverage(school_ids=[s.pk for s in schools])
    return [
        RatioRow(
            school=s,
            students=s.n_students,  # type: ignore[attr-defined]
            full_time=per.get((s.pk, Position.PSYCHOLOGY_TEACHER_FULL), 0),
            part_time=per.get((s.pk, Position.PSYCHOLOGY_TEACHER_PART), 0),
            covered_by=covered.get(s.pk),
        )
        for s in schools
    ]


def current_coverage(*, school_ids: list[int]) -> dict[int, OrgUnit]:
    """School id → the unit covering it by a current arrangement (the latest one)."""
    from django.utils import timezone

    today = timezone.localdate()
    rows = (
        CoverageArrangement.objects.filter(school_id__in=school_ids, start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("supporter")
        .order_by("start_date", "pk")
    )
    return {a.school_id: a.supporter for a in rows}


# --- guardians and circumstances (the family pages of a student) --------------------------------
def get_guardian(*, principal: Principal, code: Any, cap: str = Cap.MANAGE_FAMILIES) -> Guardian:
    """A guardian of a student the user may see (else 404) and manage with `cap` (else 403)."""
    guardian = Guardian.objects.filter(code=code).select_related("student").first()
    if guardian is None:
        raise Http404
    student = principal.get_student(guardian.student.code)
    if not covers(principal=principal, student=student, cap=cap):
        raise PermissionDenied
    guardian.student = student
    return guardian


def get_circumstance(*, principal: Principal, code: Any) -> FamilyCircumstance:
    row = FamilyCircumstance.objects.filter(code=code).select_related("student").first()
    if row is None:
        raise Http404
    student = principal.get_student(row.student.code)
    if not covers(principal=principal, student=student, cap=Cap.MANAGE_FAMILIES):
        raise PermissionDenied
    row.student = student
    return row


def get_family_student(*, principal: Principal, code: Any) -> Student:
    """A student whose family records the user manages: 404 out of scope, 403 without the cap."""
    student = principal.get_student(code)
    if not covers(principal=principal, student=student, cap=Cap.MANAGE_FAMILIES):
        raise PermissionDenied
    return student
