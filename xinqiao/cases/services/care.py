"""Writes for the care of an open case: the three-level team (R6), the support plan, follow-ups
and the guardian contact log with signed acknowledgements.

Every function runs in one transaction: it locks the case (lock_case), checks that the actor may
handle it (the school's psychology teacher), validates (DomainError with a translated message),
writes, and records its audit event in the same transaction. Audit fields never carry what
anyone wrote (notes, plan text, what was said): those are encrypted at rest.

Creates from forms are retry-safe: the form carries a `client_key`, and a repeated key returns
the row the first submit made.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.alerts import services as alert_services
from xinqiao.alerts.models import LEVEL_RANK, OPEN_STATUSES, Alert, Level, Outcome, Source
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor, User
from xinqiao.notifications import services as notifications

from ..documents import save_document
from ..models import (
    Case,
    CaseTeamMember,
    ConsentAnswer,
    ContactMethod,
    DocumentKind,
    FollowUp,
    FollowUpMethod,
    GuardianContact,
    SupportPlan,
    TeamTier,
    Trend,
)
from ..selectors.care import (
    DEFAULT_TASKS,
    ROLE_TIER,
    TIER3_TASK,
    holds_team_role,
    plan_owner_choices,
    team_candidates,
)
from ..selectors.common import require_handle, visible_cases
from .common import (
    clean_client_key,
    existing_row,
    lock_case,
    notify_case,
    reschedule_follow_up,
)

TASK_MAX = 300
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = datetime.timedelta(minutes=5)


def _check(case: Case, actor: Actor, *, open_only: bool = True) -> Case:
    """Lock the case, then check the actor handles it and (for most writes) that it is open."""
    case = lock_case(case)
    require_handle(principal_for(actor), case)
    if open_only:
        _require_open(case)
    return case


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise DomainError(_("This case is closed."))


def _not_future(when: datetime.datetime, field: str) -> None:
    if when > timezone.now() + CLOCK_SKEW:
        raise DomainError(_("The time cannot be in the future."), field=field)


# --- notifications to team members -------------------------------------------------------------


def _tasks_url() -> str:
    """Team members of levels 2 and 3 cannot open the case page: their link is "my tasks"."""
    try:
        return reverse("cases:my-tasks")
    except NoReverseMatch:
        return ""


def _notify_new_members(case: Case, users: Iterable[Any], *, actor: Actor) -> None:
    """Tell new members only that a student needs their attention: never a level or a note.
    Those who may open the case page (level 1) get a link to it, the others to their tasks."""
    subject = _("A student needs your attention")
    viewers: list[Any] = []
    others: list[Any] = []
    for user in users:
        if user is None or user.pk == getattr(actor, "pk", None):
            continue
        sees_case = visible_cases(principal=principal_for(user)).filter(pk=case.pk).exists()
        (viewers if sees_case else others).append(user)
    if viewers:
        notify_case(case=case, recipients=viewers, kind="case.team.added", subject=subject)
    if others:
        notifications.notify(
            recipients=others,
            kind="case.team.added",
            subject=subject,
            ref=case,
            url=_tasks_url(),
        )


# --- the three-level team ---------------------------------------------------------------------


def _task_for(role: str, task: str) -> str:
    """Level 3 always gets the fixed task (stored as its source string, shown translated by
    `task_text`). Others get what was typed, or the standard task of their role in the language
    of the psychology teacher who adds them (like typed text, it is shown as stored)."""
    if ROLE_TIER[role] == TeamTier.PEERS:
        return TIER3_TASK
    task = " ".join((task or "").split())
    default = DEFAULT_TASKS[role]
    if not task or task in (default, _(default)):
        return _(default)
    if len(task) > TASK_MAX:
        raise DomainError(_("Keep the task under 300 characters."), field="task")
    return task


def _add_member(case: Case, *, actor: User, user: Any, role: str, task: str) -> CaseTeamMember:
    member = CaseTeamMember.objects.create(
        case=case,
        user=user,
        tier=ROLE_TIER[role],
        role=role,
        task=_task_for(role, task),
        added_by=actor,
        added_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="cases.team_member.added",
        obj=member,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "user": user.get_username(),
            "role": role,
            "tier": member.tier,
        },
    )
    return member


@transaction.atomic
def add_team_member(
    case: Case, *, actor: User, user: Any, role: str, task: str = ""
) -> CaseTeamMember:
    """Add one person to the case's team at the level their role gives.

    Effects in order: lock the case; check the actor handles it and it is open; check the person
    holds `role` at the student's school (level 1) or class (levels 2 and 3) and is not already on
    the team; write the member; audit; tell the member a student needs their attention."""
    case = _check(case, actor)
    if role not in ROLE_TIER:
        raise DomainError(_("Choose a person and their role."), field="member")
    if not holds_team_role(case, user=user, role=role):
        raise DomainError(
            _("This person does not hold that role at the student's school or class."),
            field="member",
        )
    if CaseTeamMember.objects.filter(case=case, user=user, removed_at__isnull=True).exists():
        raise DomainError(_("This person is already on the team."), field="member")
    member = _add_member(case, actor=actor, user=user, role=role, task=task)
    if member.tier != TeamTier.PEERS:  # a child is never told that a classmate has a case
        _notify_new_members(case, [user], actor=actor)
    return member


# Committee members are children: they are added one by one, knowingly, never by default.
USUAL_ROLES = (Role.SCHOOL_ADMIN, Role.PSYCHOLOGY_TEACHER, Role.HEAD_TEACHER)


@transaction.atomic
def add_usual_team(case: Case, *, actor: User) -> list[CaseTeamMember]:
    """Add the usual team in one action: the school's moral-education leaders, the case owner and
    the student's head teacher (mentors and committee members are chosen one by one). People
    already on the team are left as they are; returns the members added."""
    case = _check(case, actor)
    present = set(
        CaseTeamMember.objects.filter(case=case, removed_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    added: list[CaseTeamMember] = []
    for candidate in team_candidates(case, roles=USUAL_ROLES):
        if candidate.role == Role.PSYCHOLOGY_TEACHER and candidate.user.pk != case.owner_id:
            continue
        if candidate.user.pk in present:
            continue
        added.append(
            _add_member(case, actor=actor, user=candidate.user, role=candidate.role, task="")
        )
        present.add(candidate.user.pk)
    _notify_new_members(case, [m.user for m in added], actor=actor)
    return added


@transaction.atomic
def remove_team_member(member: CaseTeamMember, *, actor: Actor) -> CaseTeamMember:
    """Take a person off the team (the row stays, with `removed_at`)."""
    case = _check(member.case, actor)
    member = CaseTeamMember.objects.select_for_update().get(pk=member.pk, case=case)
    if member.removed_at is not None:
        raise DomainError(_("This person is no longer on the team."))
    member.removed_at = timezone.now()
    member.save(update_fields=["removed_at"])
    record_event(
        actor=actor,
        action="cases.team_member.removed",
        obj=member,
        school_id=case.school_id,
        fields={"case": str(case.code), "user": member.user.get_username(), "role": member.role},
    )
    return member


# --- the support plan --------------------------------------------------------------------------


@transaction.atomic
def save_support_plan(
    case: Case,
    *,
    actor: User,
    goal: str,
    actions: str,
    owner: Any,
    review_on: datetime.date,
) -> SupportPlan:
    """A new version of the support plan; it replaces the one in force (the old ones are kept)."""
    case = _check(case, actor)
    goal, actions = (goal or "").strip(), (actions or "").strip()
    if not goal:
        raise DomainError(_("State the goal of the plan."), field="goal")
    if not actions:
        raise DomainError(_("List the actions of the plan."), field="actions")
    if owner is None or owner.pk not in {u.pk for u in plan_owner_choices(case)}:
        raise DomainError(
            _("The plan's owner must be a psychology teacher or leader of the school."),
            field="owner",
        )
    if review_on < timezone.localdate():
        raise DomainError(_("The review date cannot be in the past."), field="review_on")
    version = SupportPlan.objects.filter(case=case).count() + 1
    plan = SupportPlan.objects.create(
        case=case,
        goal=goal,
        actions=actions,
        owner=owner,
        review_on=review_on,
        created_by=actor,
        created_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="cases.support_plan.saved",
        obj=plan,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "version": version,
            "owner": owner.get_username(),
            "review_on": review_on.isoformat(),
        },
    )
    return plan


# --- follow-ups --------------------------------------------------------------------------------


def _raise_for_risk(case: Case, follow_up: FollowUp, *, actor: Actor) -> Alert | None:
    """Signs of risk in a follow-up raise an orange alert from counselling for the student (a
    human verifies it; when confirmed it attaches to this case), unless an orange or red alert
    is already open."""
    open_alert = Alert.objects.filter(student_id=case.student_id, status__in=OPEN_STATUSES).first()
    if open_alert is not None and LEVEL_RANK[open_alert.level] >= LEVEL_RANK[Level.ORANGE]:
        return None
    return alert_services.raise_alert(
        student=case.student,
        level=Level.ORANGE,
        source=Source.COUNSELLING,
        evidence={"case": str(case.code), "follow_up": follow_up.pk},
        rule="case.follow_up.risk_signs",
        actor=actor,
    )


@transaction.atomic
def record_follow_up(
    case: Case,
    *,
    actor: User,
    client_key: str,
    done_at: datetime.datetime,
    method: str,
    trend: str,
    risk_signs: bool,
    note: str,
) -> FollowUp:
    """Record one follow-up and schedule the next.

    Effects in order: lock the case; check the actor; return the follow-up already made with this
    `client_key` (a double submit); check the case is open; write the follow-up with the due time
    it answered and the case's level; reschedule the next one from the latest follow-up by the
    level's interval (red: daily until the referral feedback, then weekly); audit; with signs of
    risk, raise an orange alert (unless one at orange or above is open) and tell the owner."""
    client_key = clean_client_key(client_key)
    case = _check(case, actor, open_only=False)
    if (row := existing_row(FollowUp, client_key, case_id=case.pk)) is not None:  # a double submit
        return row
    _require_open(case)
    note = (note or "").strip()
    if method not in FollowUpMethod.values:
        raise DomainError(_("Choose how the follow-up was done."), field="method")
    if trend not in Trend.values:
        raise DomainError(_("Choose how things have gone since last time."), field="trend")
    if not note:
        raise DomainError(_("Write a short note."), field="note")
    if done_at is None:
        raise DomainError(_("State when the follow-up took place."), field="done_at")
    _not_future(done_at, "done_at")
    if done_at < case.opened_at - datetime.timedelta(days=1):
        raise DomainError(_("The follow-up cannot be before the case was opened."), field="done_at")
    previous = FollowUp.objects.filter(case=case).order_by("-done_at").first()
    try:
        with transaction.atomic():
            follow_up = FollowUp.objects.create(
                case=case,
                due_at=case.next_follow_up_due,
                done_at=done_at,
                method=method,
                trend=trend,
                risk_signs=bool(risk_signs),
                level_at_time=case.level,
                note=note,
                recorded_by=actor,
                client_key=client_key,
                created_at=timezone.now(),
            )
    except IntegrityError:
        return FollowUp.objects.get(client_key=client_key)
    latest = max(done_at, previous.done_at) if previous else done_at
    reschedule_follow_up(case, after=latest)
    alert = _raise_for_risk(case, follow_up, actor=actor) if follow_up.risk_signs else None
    record_event(
        actor=actor,
        action="cases.follow_up.recorded",
        obj=follow_up,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "method": method,
            "trend": trend,
            "risk_signs": follow_up.risk_signs,
            "level": case.level,
            "late": bool(follow_up.due_at and done_at > follow_up.due_at),
            "next_due": case.next_follow_up_due,
            "alert": str(alert.code) if alert else None,
        },
    )
    if follow_up.risk_signs and case.owner_id and case.owner_id != actor.pk:
        notify_case(
            case=case,
            recipients=[case.owner],
            kind="case.follow_up.risk_signs",
            subject=_("A follow-up needs your review"),
        )
    return follow_up


# --- guardian contacts -------------------------------------------------------------------------


def _mark_guardian_informed(
    case: Case, level: str, at: datetime.datetime, *, actor: Actor
) -> list[str]:
    """The student's alerts behind this case (and any open one) at or below the level the
    guardian was told about are marked guardian-informed through the alerts app (the red
    "inform the guardian the same school day" deadline); the first time stands."""
    case_alerts = case.level_changes.exclude(alert=None).values_list("alert_id", flat=True)
    alerts = (
        Alert.objects.filter(
            Q(pk__in=list(case_alerts)) | Q(student_id=case.student_id, status__in=OPEN_STATUSES)
        )
        .filter(guardian_informed_at__isnull=True)
        .exclude(outcome=Outcome.DISMISSED)
        .order_by("id")
    )
    at = min(at, timezone.now())  # the alerts app refuses a time ahead of its clock
    marked = []
    for alert in alerts:
        if LEVEL_RANK[alert.level] <= LEVEL_RANK[level]:
            alert_services.mark_guardian_informed(alert, actor=actor, at=at)
            marked.append(str(alert.code))
    return marked


@transaction.atomic
def record_guardian_contact(
    case: Case,
    *,
    actor: User,
    client_key: str,
    guardian: Any,
    method: str,
    contacted_at: datetime.datetime,
    what_was_said: str,
    guardian_response: str = "",
    consent: str = ConsentAnswer.NOT_ASKED,
    informed_of_level: str = "",
    acknowledgement: Any = None,
    acknowledgement_later: bool = False,
) -> GuardianContact:
    """Record one contact with the student's guardian.

    Effects in order: lock the case; check the actor; return the contact already made with this
    `client_key`; validate — informing the guardian of a RED level needs the signed acknowledgement
    uploaded now, or the explicit choice to upload it later (the case page then shows it as
    missing); store the upload encrypted; write the contact; when the guardian was informed of
    a level, mark the alerts behind the case as guardian-informed; audit."""
    client_key = clean_client_key(client_key)
    case = _check(case, actor, open_only=False)
    if (row := existing_row(GuardianContact, client_key, case_id=case.pk)) is not None:
        return row
    _require_open(case)
    what_was_said = (what_was_said or "").strip()
    guardian_response = (guardian_response or "").strip()
    if guardian is not None and guardian.student_id != case.student_id:
        raise DomainError(_("Choose one of the student's guardians."), field="guardian")
    if method not in ContactMethod.values:
        raise DomainError(_("Choose how the guardian was contacted."), field="method")
    if consent not in ConsentAnswer.values:
        raise DomainError(_("Choose the guardian's answer on consent."), field="consent")
    if informed_of_level and informed_of_level not in Level.values:
        raise DomainError(_("Choose a level."), field="informed_of_level")
    if not what_was_said:
        raise DomainError(_("Write what was said."), field="what_was_said")
    if contacted_at is None:
        raise DomainError(_("State when the contact took place."), field="contacted_at")
    _not_future(contacted_at, "contacted_at")
    if informed_of_level == Level.RED and acknowledgement is None and not acknowledgement_later:
        raise DomainError(
            _(
                "Informing the guardian of a red level needs their signed acknowledgement: "
                "upload it, or tick that you will upload it later."
            ),
            field="acknowledgement",
        )
    document = None
    if acknowledgement is not None:
        document = save_document(
            case=case,
            kind=DocumentKind.GUARDIAN_ACKNOWLEDGEMENT,
            upload=acknowledgement,
            actor=actor,
        )
    contact = GuardianContact.objects.create(
        case=case,
        guardian=guardian,
        method=method,
        contacted_at=contacted_at,
        what_was_said=what_was_said,
        guardian_response=guardian_response,
        consent=consent,
        informed_of_level=informed_of_level,
        acknowledgement=document,
        recorded_by=actor,
        client_key=client_key,
        created_at=timezone.now(),
    )
    marked: list[str] = []
    if informed_of_level:
        marked = _mark_guardian_informed(case, informed_of_level, contacted_at, actor=actor)
    record_event(
        actor=actor,
        action="cases.guardian_contact.recorded",
        obj=contact,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "method": method,
            "consent": consent,
            "informed_of_level": informed_of_level,
            "acknowledgement": str(document.code) if document else None,
            "alerts_guardian_informed": marked,
        },
    )
    return contact


@transaction.atomic
def upload_acknowledgement(
    contact: GuardianContact, *, actor: User, upload: Any
) -> GuardianContact:
    """Add the guardian's signed acknowledgement to a contact recorded without it (also on a
    closed case: paperwork may arrive late). A contact keeps its first acknowledgement."""
    case = _check(contact.case, actor, open_only=False)
    contact = GuardianContact.objects.select_for_update().get(pk=contact.pk, case=case)
    if contact.acknowledgement_id is not None:
        raise DomainError(_("This contact already has a signed acknowledgement."), field="file")
    document = save_document(
        case=case, kind=DocumentKind.GUARDIAN_ACKNOWLEDGEMENT, upload=upload, actor=actor
    )
    contact.acknowledgement = document
    contact.save(update_fields=["acknowledgement"])
    record_event(
        actor=actor,
        action="cases.guardian_contact.acknowledgement_uploaded",
        obj=contact,
        school_id=case.school_id,
        fields={"case": str(case.code), "document": str(document.code)},
    )
    return contact
