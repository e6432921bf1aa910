"""Workforce writes: each one transaction with its audit event (`workforce.<object>.<verb>`).

A staff member a record names must belong to the unit the record belongs to (a school's teacher
for its training, a district's staff for its research activity or registry); the views check the
actor's scope, the services check these facts."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Staff

from . import certificates
from .models import (
    CommitteeTerm,
    Expert,
    ExpertInvitation,
    Registry,
    RegistryEvent,
    RegistryMember,
    ResearchActivity,
    TrainingRecord,
)

TRAINING_FIELDS = ("course", "provider", "start_date", "end_date", "hours", "level", "mode")


def _training_fields(record: TrainingRecord) -> dict[str, Any]:
    return {
        "staff": record.staff_id,
        "course": record.course,
        "start_date": str(record.start_date),
        "end_date": str(record.end_date),
        "hours": str(record.hours),
        "level": record.level,
        "mode": record.mode,
    }


def _save_training(record: TrainingRecord) -> None:
    record.course = record.course.strip()
    record.provider = record.provider.strip()
    if record.end_date is None:
        record.end_date = record.start_date
    record.full_clean(validate_constraints=False)
    if record.end_date < record.start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    record.hours = Decimal(record.hours).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if record.hours <= 0:
        raise DomainError(_("Hours must be more than zero."), field="hours")
    clash = TrainingRecord.objects.filter(
        staff=record.staff, course=record.course, start_date=record.start_date
    ).exclude(pk=record.pk)
    if clash.exists():
        raise DomainError(
            _("This teacher already has this course on this start date."), field="course"
        )
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:
        raise DomainError(_("This teacher already has this course on this start date.")) from exc


@transaction.atomic
def add_training(
    *,
    actor: Actor,
    staff: Staff,
    course: str,
    start_date: datetime.date,
    hours: Decimal,
    level: str,
    mode: str,
    end_date: datetime.date | None = None,
    provider: str = "",
    certificate: Any = None,
) -> TrainingRecord:
    """Record one course of `staff`; effects: the row, its sealed certificate, the event."""
    record = TrainingRecord(
        staff=staff,
        course=course,
        provider=provider,
        start_date=start_date,
        end_date=end_date or start_date,
        hours=hours,
        level=level,
        mode=mode,
    )
    if certificate is not None:
        for key, value in certificates.store(certificate).items():
            setattr(record, key, value)
    _save_training(record)
    record_event(
        actor=actor,
        action="workforce.training.created",
        obj=record,
        school_id=staff.org_unit.school_id,
        fields=_training_fields(record),
    )
    return record


@transaction.atomic
def update_training(
    record: TrainingRecord, *, actor: Actor, certificate: Any = None, **changes: Any
) -> TrainingRecord:
    unknown = set(changes) - set(TRAINING_FIELDS)
    if unknown:
        raise TypeError(f"update_training: unknown fields {sorted(unknown)}")
    before = _training_fields(record)
    for key, value in changes.items():
        setattr(record, key, value)
    if certificate is not None:
        for key, value in certificates.store(certificate).items():
            setattr(record, key, value)
    _save_training(record)
    after = _training_fields(record)
    changed = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if certificate is not None:
        changed["certificate"] = ["", record.certificate_sha256]
    record_event(
        actor=actor,
        action="workforce.training.updated",
        obj=record,
        school_id=record.staff.org_unit.school_id,
        fields=changed,
    )
    return record


@transaction.atomic
def remove_training(record: TrainingRecord, *, actor: Actor) -> None:
    """Delete an entry made in error; the event keeps what it said."""
    record_event(
        actor=actor,
        action="workforce.training.removed",
        obj=record,
        school_id=record.staff.org_unit.school_id,
        fields=_training_fields(record),
    )
    record.delete()


# --- research activities (R17) -------------------------------------------------------------------
def _check_district(district: OrgUnit) -> None:
    if district.kind != Kind.DISTRICT:
        raise DomainError(_("Research activities belong to a district."), field="district")


def _check_staff_in(unit: OrgUnit, staff: Iterable[Staff], field: str) -> None:
    for member in staff:
        if not unit.contains(member.org_unit):
            raise DomainError(
                _("%(name)s does not work in %(unit)s.") % {"name": member.name, "unit": unit.name},
                field=field,
            )


@transaction.atomic
def record_research_activity(
    *,
    actor: Actor,
    district: OrgUnit,
    date: datetime.date,
    theme: str,
    organiser: str = "",
    participants: Iterable[Staff] = (),
    notes: str = "",
) -> ResearchActivity:
    _check_district(district)
    people = list(participants)
    _check_staff_in(district, people, "participants")
    activity = ResearchActivity(
        district=district, date=date, theme=theme.strip(), organiser=organiser.strip(), notes=notes
    )
    activity.full_clean()
    activity.save()
    activity.participants.set(people)
    record_event(
        actor=actor,
        action="workforce.research_activity.created",
        obj=activity,
        fields={"district": district.pk, "date": str(date), "participants": len(people)},
    )
    return activity


@transaction.atomic
def update_research_activity(
    activity: ResearchActivity,
    *,
    actor: Actor,
    date: datetime.date,
    theme: str,
    organiser: str = "",
    participants: Iterable[Staff] = (),
    notes: str = "",
) -> ResearchActivity:
    people = list(participants)
    _check_staff_in(activity.district, people, "participants")
    activity.date, activity.theme = date, theme.strip()
    activity.organiser, activity.notes = organiser.strip(), notes
    activity.full_clean()
    activity.save()
    activity.participants.set(people)
    record_event(
        actor=actor,
        action="workforce.research_activity.updated",
        obj=activity,
        fields={"date": str(date), "participants": len(people)},
    )
    return activity


@transaction.atomic
def remove_research_activity(activity: ResearchActivity, *, actor: Actor) -> None:
    record_event(
        actor=actor,
        action="workforce.research_activity.removed",
        obj=activity,
        fields={"district": activity.district_id, "date": str(activity.date)},
    )
    activity.delete()


# --- registries (R14) ----------------------------------------------------------------------------
@transaction.atomic
def create_registry(
    *,
    actor: Actor,
    kind: str,
    owner: OrgUnit,
    name: str,
    start_date: datetime.date,
    description: str = "",
) -> Registry:
    registry = Registry(
        kind=kind, owner=owner, name=name.strip(), description=description, start_date=start_date
    )
    registry.full_clean()
    registry.save()
    record_event(
        actor=actor,
        action="workforce.registry.created",
        obj=registry,
        fields={"kind": kind, "owner": owner.pk, "name": registry.name},
    )
    return registry


@transaction.atomic
def update_registry(
    registry: Registry,
    *,
    actor: Actor,
    name: str,
    start_date: datetime.date,
    description: str = "",
    end_date: datetime.date | None = None,
) -> Registry:
    if end_date is not None and end_date < start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    registry.name, registry.description = name.strip(), description
    registry.start_date, registry.end_date = start_date, end_date
    registry.full_clean()
    registry.save()
    record_event(
        actor=actor,
        action="workforce.registry.updated",
        obj=registry,
        fields={"name": registry.name, "end_date": str(end_date or "")},
    )
    return registry


@transaction.atomic
def add_registry_member(
    registry: Registry, *, actor: Actor, staff: Staff, start_date: datetime.date, role: str = ""
) -> RegistryMember:
    _check_staff_in(registry.owner, [staff], "staff")
    if registry.members.filter(staff=staff, end_date__isnull=True).exists():
        raise DomainError(_("%(name)s is already a member.") % {"name": staff.name}, field="staff")
    member = RegistryMember(
        registry=registry, staff=staff, role=role.strip(), start_date=start_date
    )
    member.full_clean(validate_constraints=False)
    member.save()
    record_event(
        actor=actor,
        action="workforce.registry_member.added",
        obj=member,
        fields={"registry": registry.pk, "staff": staff.pk, "start_date": str(start_date)},
    )
    return member


@transaction.atomic
def end_registry_member(
    member: RegistryMember, *, actor: Actor, end_date: datetime.date | None = None
) -> RegistryMember:
    if member.end_date is not None:
        raise DomainError(_("This membership has already ended."))
    end = end_date or timezone.localdate()
    if end < member.start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    member.end_date = end
    member.save(update_fields=["end_date"])
    record_event(
        actor=actor,
        action="workforce.registry_member.ended",
        obj=member,
        fields={"registry": member.registry_id, "staff": member.staff_id, "end_date": str(end)},
    )
    return member


@transaction.atomic
def add_registry_event(
    registry: Registry, *, actor: Actor, date: datetime.date, title: str, notes: str = ""
) -> RegistryEvent:
    event = RegistryEvent(registry=registry, date=date, title=title.strip(), notes=notes)
    event.full_clean()
    event.save()
    record_event(
        actor=actor,
        action="workforce.registry_event.added",
        obj=event,
        fields={"registry": registry.pk, "date": str(date)},
    )
    return event


# --- expert pool and committee -------------------------------------------------------------------
EXPERT_FIELDS = ("name", "affiliation", "expertise", "availability", "user", "is_active")


@transaction.atomic
def create_expert(
    *,
    actor: Actor,
    owner: OrgUnit,
    name: str,
    affiliation: str = "",
    expertise: str = "",
    availability: str = "available",
    user: Any = None,
) -> Expert:
    if owner.kind not in (Kind.CITY, Kind.DISTRICT):
        raise DomainError(_("An expert pool belongs to the city or a district."), field="owner")
    expert = Expert(
        owner=owner,
        name=name.strip(),
        affiliation=affiliation.strip(),
        expertise=expertise.strip(),
        availability=availability,
        user=user,
    )
    expert.full_clean()
    expert.save()
    record_event(
        actor=actor,
        action="workforce.expert.created",
        obj=expert,
        fields={"owner": owner.pk, "availability": availability},
    )
    return expert


@transaction.atomic
def update_expert(expert: Expert, *, actor: Actor, **changes: Any) -> Expert:
    unknown = set(changes) - set(EXPERT_FIELDS)
    if unknown:
        raise TypeError(f"update_expert: unknown fields {sorted(unknown)}")
    changed = []
    for key, value in changes.items():
        if getattr(expert, key) != value:
            setattr(expert, key, value)
            changed.append(key)
    expert.full_clean()
    expert.save()
    record_event(
        actor=actor, action="workforce.expert.updated", obj=expert, fields={"changed": changed}
    )
    return expert


@transaction.atomic
def seat_on_committee(
    expert: Expert, *, actor: Actor, role: str, start_date: datetime.date
) -> CommitteeTerm:
    if expert.committee_terms.filter(end_date__isnull=True).exists():
        raise DomainError(_("This expert already sits on the committee."), field="role")
    term = CommitteeTerm(expert=expert, role=role, start_date=start_date)
    term.full_clean(validate_constraints=False)
    term.save()
    record_event(
        actor=actor,
        action="workforce.committee_term.started",
        obj=term,
        fields={"expert": expert.pk, "role": role, "start_date": str(start_date)},
    )
    return term


@transaction.atomic
def end_committee_term(
    term: CommitteeTerm, *, actor: Actor, end_date: datetime.date | None = None
) -> CommitteeTerm:
    if term.end_date is not None:
        raise DomainError(_("This committee term has already ended."))
    end = end_date or timezone.localdate()
    if end < term.start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    term.end_date = end
    term.save(update_fields=["end_date"])
    record_event(
        actor=actor,
        action="workforce.committee_term.ended",
        obj=term,
        fields={"expert": term.expert_id, "end_date": str(end)},
    )
    return term


# --- an account for a pool expert (the partners EXPERT role) ------------------------------------
@transaction.atomic
def invite_expert_account(
    expert: Expert, *, actor: Actor, days: int = 7
) -> tuple[ExpertInvitation, str]:
    """A one-time invitation (the staff invitation's mechanism) with which the expert chooses a
    username and their own password; the account gets the `expert` role at the pool's unit and
    is linked to this record. Returns the invitation and its code (shown once; only its SHA-256
    is stored). A newer invitation revokes the older open ones."""
    import secrets

    from xinqiao.access.staffing import token_hash

    if expert.user_id is not None:
        raise DomainError(_("This expert already has an account."))
    if not expert.is_active:
        raise DomainError(_("This expert is not in the pool."))
    now = timezone.now()
    expert.invitations.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    token = secrets.token_urlsafe(24)
    invitation = ExpertInvitation.objects.create(
        expert=expert,
        token_hash=token_hash(token),
        created_by=actor if getattr(actor, "pk", None) else None,
        expires_at=now + datetime.timedelta(days=days),
    )
    record_event(
        actor=actor,
        action="workforce.expert_invitation.created",
        obj=invitation,
        fields={"expert": expert.pk, "expires_at": invitation.expires_at.isoformat()},
    )
    return invitation, token


def open_expert_invitation(token: str) -> ExpertInvitation | None:
    """The invitation of this code while it can still be used, else None."""
    from xinqiao.access.staffing import token_hash

    if not token:
        return None
    invitation = (
        ExpertInvitation.objects.filter(token_hash=token_hash(token))
        .select_related("expert", "expert__owner")
        .first()
    )
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= timezone.now()
        or invitation.expert.user_id is not None
        or not invitation.expert.is_active
    ):
        return None
    return invitation


@transaction.atomic
def accept_expert_invitation(*, token: str, username: str, password: str) -> Any:
    """Create the expert's account with their own password, link it to the pool record and give
    it the `expert` role at the pool's unit (city or district); the code is then used up."""
    from xinqiao.access.roles import Role
    from xinqiao.access.services import assign_role
    from xinqiao.access.staffing import create_invited_account

    invitation = open_expert_invitation(token)
    if invitation is None:
        raise DomainError(_("This invitation is not valid any more. Ask for a new one."))
    invitation = ExpertInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise DomainError(_("This invitation is not valid any more. Ask for a new one."))
    expert = invitation.expert
    user = create_invited_account(username=username, password=password, name=expert.name)
    username = user.username
    expert.user = user
    expert.save(update_fields=["user"])
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    record_event(
        actor=user,
        action="workforce.expert_invitation.accepted",
        obj=invitation,
        fields={"expert": expert.pk, "username": username},
    )
    assign_role(actor=user, user=user, role=Role.EXPERT, org_unit=expert.owner)
    return user


def pending_expert_invitation(token: str) -> Any:
    """The acceptance page's view of an open expert invitation (access.staffing seam)."""
    from xinqiao.access.staffing import PendingInvitation

    invitation = open_expert_invitation(token)
    if invitation is None:
        return None
    expert = invitation.expert
    return PendingInvitation(
        expert.name, expert.affiliation or expert.owner.name, accept_expert_invitation
    )
