"""The account side of a staff record: invitations and leaving (issue 14, R12).

- `invite_staff` makes a one-time invitation that expires (INVITATION_DAYS); the code is returned
  once, only its SHA-256 is stored. A newer invitation revokes the older open ones.
- `accept_invitation` lets the staff member choose a username and their own password; it creates
  the account, links it to the record and gives the invited role. The existing two-factor
  enrolment then applies at the first sign-in, like for every account.
- `staff_leaves` (离职): every post ends, every role assignment is revoked, the account is
  deactivated, open invitations are revoked; each step audited.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Staff
from xinqiao.people.staffing.services import end_staff_record

from .models import RoleAssignment, StaffInvitation
from .roles import ROLE_UNIT_KINDS, Role
from .services import assign_role, revoke_role, set_account_active

INVITATION_DAYS = 7


@dataclass(frozen=True)
class PendingInvitation:
    """An open invitation as the acceptance page shows it: who is welcomed, at which unit, and
    how to accept it (token=, username=, password= → the new user)."""

    name: str
    unit: str
    accept: Callable[..., Any]
    staff: Staff | None = None


# Other apps' invitations redeemed at the same page (account:invitation): a function from a code
# to its PendingInvitation or None. The expert pool registers one (workforce, issue 14).
_invitation_kinds: list[Callable[[str], PendingInvitation | None]] = []


def register_invitation_kind(find: Callable[[str], PendingInvitation | None]) -> None:
    if find not in _invitation_kinds:
        _invitation_kinds.append(find)


def find_invitation(token: str) -> PendingInvitation | None:
    """The open invitation of this code, a staff member's or a registered kind's."""
    invitation = open_invitation(token)
    if invitation is not None:
        staff = invitation.staff
        return PendingInvitation(staff.name, staff.org_unit.name, accept_invitation, staff)
    for find in _invitation_kinds:
        pending = find(token)
        if pending is not None:
            return pending
    return None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _school_id(staff: Staff) -> int | None:
    unit = staff.org_unit
    return unit.pk if unit.kind == "school" else unit.school_id


@transaction.atomic
def invite_staff(
    *,
    actor: Actor,
    staff: Staff,
    role: str = "",
    role_unit: OrgUnit | None = None,
    days: int = INVITATION_DAYS,
) -> tuple[StaffInvitation, str]:
    """A new invitation for a staff record without an account; returns it and its code."""
    if staff.user_id is not None:
        raise DomainError(_("This staff member already has an account."))
    if not staff.is_active:
        raise DomainError(_("This staff member has left."))
    unit = role_unit or staff.org_unit
    if role:
        if role not in Role.values:
            raise DomainError(_("Unknown role."), field="role")
        if unit.kind not in ROLE_UNIT_KINDS[role]:
            raise DomainError(
                _("The role %(role)s cannot be given at a unit of this kind.")
                % {"role": Role(role).label},
                field="role",
            )
    now = timezone.now()
    StaffInvitation.objects.filter(
        staff=staff, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(24)
    invitation = StaffInvitation.objects.create(
        staff=staff,
        token_hash=token_hash(token),
        role=role,
        role_unit=unit if role else None,
        created_by=actor,
        expires_at=now + timedelta(days=days),
    )
    record_event(
        actor=actor,
        action="access.invitation.created",
        obj=invitation,
        school_id=_school_id(staff),
        fields={"staff": staff.pk, "role": role, "expires_at": invitation.expires_at.isoformat()},
    )
    return invitation, token


def open_invitation(token: str) -> StaffInvitation | None:
    """The invitation of this code when it can still be used, else None."""
    if not token:
        return None
    invitation = (
        StaffInvitation.objects.filter(token_hash=token_hash(token))
        .select_related("staff", "staff__org_unit", "role_unit")
        .first()
    )
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= timezone.now()
        or invitation.staff.user_id is not None
        or not invitation.staff.is_active
    ):
        return None
    return invitation


def create_invited_account(*, username: str, password: str, name: str) -> Any:
    """The account an invitation's holder creates: their own username (not taken, in any case)
    and a password that meets the rules. The caller links it and uses the invitation up."""
    from django.contrib.auth.password_validation import validate_password

    user_model = get_user_model()
    username = username.strip()
    if not username:
        raise DomainError(_("Choose a username."), field="username")
    if user_model.objects.filter(username__iexact=username).exists():
        raise DomainError(_("The username “%s” is already taken.") % username, field="username")
    user = user_model(username=username, first_name=name)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def accept_invitation(*, token: str, username: str, password: str) -> Any:
    """Create the staff member's account with their own password; the code is then used up."""
    invitation = open_invitation(token)
    if invitation is None:
        raise DomainError(_("This invitation is not valid any more. Ask for a new one."))
    # Lock the invitation: two submissions of one code create one account.
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise DomainError(_("This invitation is not valid any more. Ask for a new one."))
    staff = invitation.staff
    user = create_invited_account(username=username, password=password, name=staff.name)
    username = user.username
    staff.user = user
    staff.save(update_fields=["user"])
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    record_event(
        actor=user,
        action="access.invitation.accepted",
        obj=invitation,
        school_id=_school_id(staff),
        fields={"staff": staff.pk, "username": username},
    )
    if invitation.role and invitation.role_unit is not None:
        assign_role(actor=user, user=user, role=invitation.role, org_unit=invitation.role_unit)
    return user


@transaction.atomic
def staff_leaves(*, actor: Actor, staff: Staff, on: date | None = None) -> None:
    """离职: every post ends, every role assignment is revoked, the account is deactivated."""
    if not staff.is_active:
        raise DomainError(_("This staff member has already left."))
    if staff.user_id is not None and staff.user_id == getattr(actor, "pk", None):
        raise DomainError(_("You cannot record your own leaving."))
    end_staff_record(actor=actor, staff=staff, on=on)
    StaffInvitation.objects.filter(
        staff=staff, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    user = staff.user
    if user is not None:
        for assignment in RoleAssignment.objects.filter(user=user, is_active=True).select_related(
            "org_unit"
        ):
            revoke_role(actor=actor, assignment=assignment)
        if user.is_active:
            set_account_active(actor=actor, user=user, active=False)
