"""Accounts made from people records: class committee members and parents (R5, R23).

- Appointing a committee member gives the student an account (a random username, no name, no
  contact details: they are children) with the `committee_member` role at the class, and a
  one-time code printed on a slip with which the child chooses a password. Ending the
  appointment revokes the role.
- A guardian's invitation is a one-time code printed for them: with it the parent creates their
  own account (or, signed in, links the one they have: a parent of several children), which is
  linked to that guardian and given the `parent` role at the school. Ending the guardianship ends
  the access to that child (scope.py reads only current guardianships) and, when it was the
  parent's last current child at the school, the role.

Only a code's keyed hash is stored (AccountInvitation.code_hash); the code itself is shown once,
on the printable slip. Issuing again withdraws the earlier open code. These workflows give roles,
so they live in `access`, above `people` (docs/architecture.md).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.codes import UNAMBIGUOUS_ALPHABET, random_code
from xinqiao.core.crypto import keyed_hash
from xinqiao.core.errors import DomainError
from xinqiao.core.ratelimit import allow
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Term
from xinqiao.people import services as people_services
from xinqiao.people.models import (
    AccountInvitation,
    CommitteeMember,
    Guardian,
    InvitationKind,
    Student,
)

from .models import RoleAssignment
from .roles import Role
from .services import assign_role, revoke_role

CODE_LENGTH = 12
VALID_DAYS = {InvitationKind.COMMITTEE: 30, InvitationKind.PARENT: 30}
REDEEM_LIMIT = 10  # attempts per key (the client's address) in REDEEM_WINDOW
REDEEM_WINDOW = 10 * 60
_HASH_PREFIX = "INVITATION:"
_SEPARATORS = re.compile(r"[\s\-_·.]")
_VALID = re.compile(f"^[{UNAMBIGUOUS_ALPHABET}]{{{CODE_LENGTH}}}$")


def normalise_code(raw: str | None) -> str:
    return _SEPARATORS.sub("", raw or "").upper()


def format_code(code: str) -> str:
    """ "ABCDEFGHJKMN" → "ABCD-EFGH-JKMN" as printed."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    return keyed_hash(_HASH_PREFIX + code)


@dataclass
class Slip:
    """What the printable slip shows, once: never stored in clear."""

    invitation: AccountInvitation
    code: str  # formatted
    username: str = ""  # the committee member's sign-in name


def _issue(
    *,
    actor: Actor,
    kind: str,
    student: Student,
    guardian: Guardian | None = None,
    user: Any = None,
) -> Slip:
    open_ones = AccountInvitation.objects.filter(
        kind=kind, student=student, guardian=guardian, used_at__isnull=True, revoked_at__isnull=True
    )
    now = timezone.now()
    withdrawn = open_ones.update(revoked_at=now)
    code = random_code(CODE_LENGTH)
    invitation = AccountInvitation.objects.create(
        kind=kind,
        code_hash=code_hash(code),
        school=student.school,
        student=student,
        guardian=guardian,
        user=user,
        created_by=actor if getattr(actor, "pk", None) else None,
        expires_at=now + datetime.timedelta(days=VALID_DAYS[InvitationKind(kind)]),
    )
    record_event(
        actor=actor,
        action="access.invitation.issued",
        obj=invitation,
        school_id=student.school_id,
        fields={"kind": kind, "student": student.pk, "withdrawn": withdrawn},
    )
    return Slip(invitation, format_code(code), getattr(user, "username", ""))


# --- committee members --------------------------------------------------------------------------
def _committee_username() -> str:
    user_model = get_user_model()
    while True:
        name = "cm-" + random_code(8).lower()
        if not user_model.objects.filter(username=name).exists():
            return name


@transaction.atomic
def appoint_committee_member(
    *, actor: Actor, student: Student, term: Term, start_date: datetime.date | None = None
) -> tuple[CommitteeMember, Slip | None]:
    """Appoint, give the account and the role; a slip when the child has no password yet."""
    member = people_services.appoint_committee_member(
        actor=actor, student=student, term=term, start_date=start_date
    )
    user = student.user
    if user is None:
        user = get_user_model()(username=_committee_username())  # no name, no contact details
        user.set_unusable_password()
        user.save()
        student.user = user
        student.save(update_fields=["user", "updated_at"])
        record_event(
            actor=actor,
            action="access.account.created",
            obj=user,
            school_id=student.school_id,
            fields={"username": user.username, "for": "committee_member"},
        )
    assert member.school_class is not None
    assign_role(actor=actor, user=user, role=Role.COMMITTEE_MEMBER, org_unit=member.school_class)
    slip = None
    if not user.has_usable_password():
        slip = _issue(actor=actor, kind=InvitationKind.COMMITTEE, student=student, user=user)
    return member, slip


@transaction.atomic
def reissue_committee_slip(*, actor: Actor, member: CommitteeMember) -> Slip:
    """A new one-time code for a current member (the slip was lost, or the password forgotten:
    the code sets a new one)."""
    if member.end_date is not None or member.student.user is None:
        raise DomainError(_("This appointment has ended."))
    return _issue(
        actor=actor,
        kind=InvitationKind.COMMITTEE,
        student=member.student,
        user=member.student.user,
    )


@transaction.atomic
def end_committee_member(
    *, actor: Actor, member: CommitteeMember, end_date: datetime.date | None = None
) -> CommitteeMember:
    """End the appointment, then the role at the class (unless another current appointment
    there keeps it) and any unused slip."""
    people_services.end_committee_member(actor=actor, member=member, end_date=end_date)
    user = member.student.user
    if user is None:
        return member
    still = CommitteeMember.objects.filter(
        student=member.student, school_class=member.school_class, end_date__isnull=True
    ).exists()
    if not still:
        for assignment in RoleAssignment.objects.filter(
            user=user,
            role=Role.COMMITTEE_MEMBER,
            org_unit=member.school_class,
            is_active=True,
        ):
            revoke_role(actor=actor, assignment=assignment)
        AccountInvitation.objects.filter(
            kind=InvitationKind.COMMITTEE, user=user, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
    return member


@transaction.atomic
def replace_committee_member(
    *, actor: Actor, member: CommitteeMember, successor: Student
) -> tuple[CommitteeMember, Slip | None]:
    """End one appointment and appoint the successor for the same term (never an overwrite)."""
    if successor.school_class_id != member.school_class_id:
        raise DomainError(_("The successor must be in the same class."), field="student")
    end_committee_member(actor=actor, member=member)
    return appoint_committee_member(actor=actor, student=successor, term=member.term)


# --- parents ------------------------------------------------------------------------------------
@transaction.atomic
def invite_parent(*, actor: Actor, guardian: Guardian) -> Slip:
    if not guardian.is_current:
        raise DomainError(_("This guardianship has ended."))
    if guardian.user_id is not None:
        raise DomainError(_("This guardian already has an account."))
    return _issue(
        actor=actor, kind=InvitationKind.PARENT, student=guardian.student, guardian=guardian
    )


@transaction.atomic
def end_guardianship(
    *, actor: Actor, guardian: Guardian, end_date: datetime.date | None = None
) -> Guardian:
    """End the guardianship, its unused invitations and, when it was the parent's last current
    child at the school, the parent role there."""
    people_services.end_guardianship(actor=actor, guardian=guardian, end_date=end_date)
    AccountInvitation.objects.filter(
        guardian=guardian, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if guardian.user_id is None:
        return guardian
    others = (
        Guardian.objects.current()
        .filter(user_id=guardian.user_id, school_id=guardian.school_id)
        .exclude(pk=guardian.pk)
    )
    if guardian.is_current or others.exists():
        return guardian  # ends on a future date, or another child keeps the role
    for assignment in RoleAssignment.objects.filter(
        user_id=guardian.user_id, role=Role.PARENT, org_unit_id=guardian.school_id, is_active=True
    ):
        revoke_role(actor=actor, assignment=assignment)
    return guardian


# --- redeeming a code ---------------------------------------------------------------------------
def find_open(raw: str) -> AccountInvitation | None:
    code = normalise_code(raw)
    if not _VALID.match(code):
        return None
    invitation = (
        AccountInvitation.objects.filter(code_hash=code_hash(code))
        .select_related("student", "guardian", "user", "school")
        .first()
    )
    return invitation if invitation is not None and invitation.is_open else None


@transaction.atomic
def redeem_invitation(
    *,
    raw_code: str,
    password: str = "",
    username: str = "",
    signed_in: Any = None,
    throttle_key: str = "",
) -> Any:
    """Use a one-time code. Committee: set the child's password. Parent: create the account
    (`username`, `password`) or link `signed_in`, then link the guardian and give the role.
    Returns the user."""
    if throttle_key and not allow(
        f"xq:invitation:{throttle_key}", limit=REDEEM_LIMIT, window=REDEEM_WINDOW
    ):
        raise DomainError(
            _("Too many attempts. Try again in %(minutes)d minutes.")
            % {"minutes": REDEEM_WINDOW // 60}
        )
    invitation = find_open(raw_code)
    if invitation is None:
        raise DomainError(_("This code is unknown, used or expired."), field="code")
    invitation = AccountInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise DomainError(_("This code is unknown, used or expired."), field="code")
    user_model = get_user_model()
    user: Any
    if invitation.kind == InvitationKind.COMMITTEE:
        user = invitation.user
        if user is None:
            raise DomainError(_("This code is unknown, used or expired."), field="code")
        validate_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
    else:
        guardian = invitation.guardian
        if guardian is None or not guardian.is_current:
            raise DomainError(_("This code is unknown, used or expired."), field="code")
        if signed_in is not None and signed_in.is_authenticated:
            user = signed_in
        else:
            username = username.strip()
            if not username:
                raise DomainError(_("Choose a username."), field="username")
            if user_model.objects.filter(username=username).exists():
                raise DomainError(
                    _("The username “%s” is already taken.") % username, field="username"
                )
            user = user_model(username=username, first_name=guardian.name)
            validate_password(password, user)
            user.set_password(password)
            user.save()
            record_event(
                actor=user,
                action="access.account.created",
                obj=user,
                school_id=invitation.school_id,
                fields={"username": username, "for": "parent"},
            )
        guardian.user = user
        guardian.save(update_fields=["user"])
        assign_role(actor=user, user=user, role=Role.PARENT, org_unit=invitation.school)
        invitation.user = user
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at", "user"])
    record_event(
        actor=user,
        action="access.invitation.redeemed",
        obj=invitation,
        school_id=invitation.school_id,
        fields={"kind": invitation.kind, "user": user.pk},
    )
    return user
