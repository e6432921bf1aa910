"""Writes of the partners app: each one transaction, keyword arguments, the acting user, and an
audit event (docs/partners.md, docs/audit-actions.md)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role, create_account, revoke_role
from xinqiao.audit.services import record_event
from xinqiao.cases.models import Case, CaseStatus, Referral, SupportPlan
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import StudentStatus

from .models import Department, DepartmentPost, ExpertGrant, HospitalArea, PlanAdvice, Purpose

MAX_GRANT_DAYS = 30


# --- department accounts
@transaction.atomic
def give_department_post(
    *, actor: Any, user: Any, department: str, org_unit: OrgUnit
) -> DepartmentPost:
    """An existing account becomes a department officer (a new post; ended ones are kept)."""
    if department not in Department.values:
        raise DomainError(_("Choose a department."), field="department")
    if org_unit.kind not in (Kind.CITY, Kind.DISTRICT):
        raise DomainError(_("A department account belongs to the city or a district."))
    return _open_post(actor=actor, user=user, department=department, org_unit=org_unit)


@transaction.atomic
def create_department_account(
    *,
    actor: Any,
    username: str,
    name: str,
    password: str,
    department: str,
    org_unit: OrgUnit,
) -> DepartmentPost:
    """A partner department's officer: the account (the password must be changed at first
    sign-in), the `department_officer` role at the city or a district, and the post recording
    the department."""
    if department not in Department.values:
        raise DomainError(_("Choose a department."), field="department")
    if org_unit.kind not in (Kind.CITY, Kind.DISTRICT):
        raise DomainError(_("A department account belongs to the city or a district."))
    user = create_account(actor=actor, username=username, name=name, password=password)
    return _open_post(actor=actor, user=user, department=department, org_unit=org_unit)


def _open_post(*, actor: Any, user: Any, department: str, org_unit: OrgUnit) -> DepartmentPost:
    assignment = assign_role(
        actor=actor, user=user, role=Role.DEPARTMENT_OFFICER, org_unit=org_unit
    )
    if DepartmentPost.objects.current().filter(assignment=assignment).exists():
        raise DomainError(_("This person already holds a department account there."))
    post = DepartmentPost.objects.create(
        user=user,
        department=department,
        org_unit=org_unit,
        assignment=assignment,
        started_on=timezone.localdate(),
        created_by=actor,
    )
    record_event(
        actor=actor,
        action="partners.department_post.created",
        obj=post,
        fields={"user": user.pk, "department": department, "unit": org_unit.pk},
    )
    return post


@transaction.atomic
def end_department_post(*, actor: Any, post: DepartmentPost) -> DepartmentPost:
    """The account's role ends and the post gets its end date (kept, never deleted)."""
    post = DepartmentPost.objects.select_for_update().get(pk=post.pk)
    if post.ended_on is not None:
        raise DomainError(_("This department account has already ended."))
    post.ended_on = timezone.localdate()
    post.save(update_fields=["ended_on"])
    if post.assignment.is_active:
        revoke_role(actor=actor, assignment=post.assignment)
    record_event(
        actor=actor,
        action="partners.department_post.ended",
        obj=post,
        fields={"user": post.user_id, "department": post.department},
    )
    return post


# --- experts
@transaction.atomic
def invite_expert(
    *, actor: Any, case: Case, expert: Any, purpose: str, reason: str, days: int
) -> ExpertGrant:
    """Give an expert access to this one case for `days` days (at most MAX_GRANT_DAYS). The
    caller has checked that `actor` may invite on this case (selectors.case_for_inviting)."""
    if case.status != CaseStatus.OPEN:
        raise DomainError(_("Experts can be invited to open cases only."))
    from .selectors import pool_experts

    if not pool_experts(case=case).filter(user=expert).exists():
        raise DomainError(_("This person is not in the expert pool."), field="expert")
    if purpose not in Purpose.values:
        raise DomainError(_("Choose a purpose."), field="purpose")
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(_("Give the reason for the invitation."), field="reason")
    if not 1 <= days <= MAX_GRANT_DAYS:
        raise DomainError(
            _("Access lasts from 1 to %(days)s days.") % {"days": MAX_GRANT_DAYS}, field="days"
        )
    if ExpertGrant.objects.active().filter(case=case, expert=expert).exists():
        raise DomainError(_("This expert is already invited to this case."), field="expert")
    now = timezone.now()
    grant = ExpertGrant.objects.create(
        case=case,
        student=case.student,
        expert=expert,
        purpose=purpose,
        reason=reason[:1000],
        granted_by=actor,
        granted_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    record_event(
        actor=actor,
        action="partners.expert_grant.created",
        obj=grant,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "expert": expert.pk,
            "purpose": purpose,
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return grant


@transaction.atomic
def revoke_expert(*, actor: Any, grant: ExpertGrant) -> ExpertGrant:
    grant = ExpertGrant.objects.select_for_update().get(pk=grant.pk)
    if not grant.is_active:
        raise DomainError(_("This invitation has already ended."))
    grant.revoked_at, grant.revoked_by = timezone.now(), actor
    grant.save(update_fields=["revoked_at", "revoked_by"])
    record_event(
        actor=actor,
        action="partners.expert_grant.revoked",
        obj=grant,
        school_id=grant.case.school_id,
        fields={"case": str(grant.case.code), "expert": grant.expert_id},
    )
    return grant


# --- hospital areas
@transaction.atomic
def assign_hospital_area(
    *,
    actor: Any,
    hospital: OrgUnit,
    area: OrgUnit,
    psychiatrist: Any = None,
    started_on: datetime.date | None = None,
) -> HospitalArea:
    """A partner hospital (and optionally one of its psychiatrists) serves a district or a
    school from `started_on`. The hospital must be one the area's referrals may go to: under the
    city or the area's district."""
    if hospital.kind != Kind.HOSPITAL:
        raise DomainError(_("Choose a partner hospital."), field="hospital")
    if area.kind not in (Kind.DISTRICT, Kind.SCHOOL):
        raise DomainError(_("An area is a district or a school."), field="area")
    if hospital.parent is None or not hospital.parent.contains(area):
        raise DomainError(
            _("This hospital is not a partner of the area's district or city."), field="hospital"
        )
    if psychiatrist is not None and not (
        RoleAssignment.objects.active()
        .filter(user=psychiatrist, role=Role.PSYCHIATRIST, org_unit=hospital)
        .exists()
    ):
        raise DomainError(
            _("This psychiatrist does not work at this hospital."), field="psychiatrist"
        )
    started_on = started_on or timezone.localdate()
    overlapping = HospitalArea.objects.filter(
        hospital=hospital, area=area, psychiatrist=psychiatrist, ended_on__isnull=True
    )
    if overlapping.exists():
        raise DomainError(_("This assignment already holds: end it first."))
    row = HospitalArea.objects.create(
        hospital=hospital,
        area=area,
        psychiatrist=psychiatrist,
        started_on=started_on,
        created_by=actor,
    )
    record_event(
        actor=actor,
        action="partners.hospital_area.assigned",
        obj=row,
        school_id=area.school_id,
        fields={
            "hospital": hospital.pk,
            "area": area.pk,
            "psychiatrist": getattr(psychiatrist, "pk", None),
            "from": started_on.isoformat(),
        },
    )
    return row


@transaction.atomic
def end_hospital_area(
    *, actor: Any, row: HospitalArea, ended_on: datetime.date | None = None
) -> HospitalArea:
    row = HospitalArea.objects.select_for_update().get(pk=row.pk)
    if row.ended_on is not None:
        raise DomainError(_("This assignment has already ended."))
    ended_on = ended_on or timezone.localdate()
    if ended_on < row.started_on:
        raise DomainError(_("The end cannot come before the start."))
    row.ended_on = ended_on
    row.save(update_fields=["ended_on"])
    record_event(
        actor=actor,
        action="partners.hospital_area.ended",
        obj=row,
        school_id=row.area.school_id,
        fields={"until": ended_on.isoformat()},
    )
    return row


# --- the psychiatrist's plan advice
@transaction.atomic
def add_plan_advice(
    *, actor: Any, referral: Referral, advice: str, review_on: datetime.date
) -> PlanAdvice:
    """The referred student's psychiatrist adds advice and a review date to the joint support
    plan (the plan in force is linked; the school's plan itself is the school's to change). The
    caller has checked the referral is in the psychiatrist's scope."""
    advice = (advice or "").strip()
    if not advice:
        raise DomainError(_("Write the advice."), field="advice")
    if review_on < timezone.localdate():
        raise DomainError(_("The review date cannot be in the past."), field="review_on")
    case = referral.case
    if case.status != CaseStatus.OPEN:
        raise DomainError(_("The case is closed."))
    plan = SupportPlan.objects.filter(case=case).order_by("-created_at", "-id").first()
    row = PlanAdvice.objects.create(
        case=case,
        plan=plan,
        referral=referral,
        author=actor,
        advice=advice[:4000],
        review_on=review_on,
        created_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="partners.plan_advice.added",
        obj=row,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "referral": str(referral.code),
            "review_on": str(review_on),
        },
    )
    return row


# --- online-monitoring tips (网信, R7) -----------------------------------------------------------
def _plain_class(text: str) -> str:
    """Class texts such as 七年级 (1)班, 七(1), 七（1）班 → comparable keys: no spaces, no
    full-width brackets, no trailing 班."""
    text = "".join(text.split()).replace("（", "(").replace("）", ")")
    return text[:-1] if text.endswith("班") else text


def _class_keys(student: Any) -> set[str]:
    cls = student.school_class
    if cls is None:
        return set()
    own = _plain_class(cls.name)
    keys = {own}
    grade = _plain_class(cls.parent.name) if cls.parent_id else ""
    if grade:
        short = grade.removesuffix("年级")  # 七年级 → 七
        number = own.removeprefix(short) if short else own  # 七(1) → (1)
        keys |= {grade + own, short + own, grade + number, short + number}
    return keys


@transaction.atomic
def file_online_tip(
    *,
    actor: Any,
    school: OrgUnit,
    what_seen: str,
    seen_on: datetime.date,
    urgency: str,
    student_number: str = "",
    name: str = "",
    class_name: str = "",
) -> None:
    """A 网信 officer's online-monitoring tip about a student of their area, identified by
    学籍号 or by school + name + class. The officer learns nothing back: no name, no list, no
    result; a student not found and two students matching give the same message. The concern
    enters the normal alert flow (alerts.services.file_monitoring_tip, source "online
    monitoring"), audited as every concern."""
    from xinqiao.access.roles import Cap, Tier
    from xinqiao.access.scope import principal_for
    from xinqiao.alerts.services import file_monitoring_tip
    from xinqiao.people.search import number_hash

    from .selectors import tip_schools

    principal = principal_for(actor)
    if not tip_schools(principal=principal).filter(pk=school.pk).exists():
        raise DomainError(_("Choose a school of your area."), field="school")
    students = principal.students(tier=Tier.T0, cap=Cap.FILE_MONITORING_TIP).filter(
        school=school, status=StudentStatus.ENROLLED
    )
    number = student_number.strip()
    if number:
        found = list(students.filter(student_number_hash=number_hash(number))[:2])
    elif name.strip() and class_name.strip():
        wanted = _plain_class(class_name)
        same_name = students.filter(name=name.strip()).select_related("school_class__parent")
        found = [s for s in same_name[:50] if wanted in _class_keys(s)][:2]
    else:
        raise DomainError(
            _("Give the national student number, or the student's name and class."),
            field="student_number",
        )
    if len(found) != 1:
        raise DomainError(
            _(
                "No single student of this school matches. Check the name and class, or give "
                "the national student number."
            ),
            field="student_number" if number else "name",
        )
    file_monitoring_tip(
        actor=actor, student=found[0], what_seen=what_seen, seen_on=seen_on, urgency=urgency
    )
