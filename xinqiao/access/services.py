from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Staff, StaffPosition

from .models import RoleAssignment
from .passwords import require_password_change
from .roles import ROLE_UNIT_KINDS, Role
from .sessions import end_all_sessions

# Roles that may never be held together by one person (三权分立; access/grants.py).
EXCLUSIVE_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.AUDITOR})


def check_exclusive(user: Any, role: str) -> None:
    """Refuse a role that would make one person both system administrator and auditor."""
    if role not in EXCLUSIVE_ROLES:
        return
    others = EXCLUSIVE_ROLES - {role}
    if RoleAssignment.objects.active().filter(user=user, role__in=others).exists():
        raise DomainError(
            _("The system administrator and the auditor must be two different people.")
        )


@transaction.atomic
def assign_role(*, actor: Actor, user: Any, role: str, org_unit: OrgUnit) -> RoleAssignment:
    if role not in Role.values:
        raise DomainError(_("Unknown role."))
    if org_unit.kind not in ROLE_UNIT_KINDS[role]:
        raise DomainError(
            _("The role %(role)s cannot be given at a unit of this kind.")
            % {"role": Role(role).label}
        )
    check_exclusive(user, role)
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, org_unit=org_unit, defaults={"is_active": True}
    )
    if not created and not assignment.is_active:
        assignment.is_active = True
        assignment.save(update_fields=["is_active"])
    record_event(
        actor=actor,
        action="access.role.assigned",
        obj=assignment,
        school_id=org_unit.school_id,
        fields={"user": user.pk, "role": role, "unit": org_unit.pk},
    )
    return assignment


@transaction.atomic
def revoke_role(*, actor: Actor, assignment: RoleAssignment) -> None:
    assignment.is_active = False
    assignment.save(update_fields=["is_active"])
    record_event(
        actor=actor,
        action="access.role.revoked",
        obj=assignment,
        school_id=assignment.org_unit.school_id,
        fields={"user": assignment.user_id, "role": assignment.role},
    )


@transaction.atomic
def create_account(*, actor: Actor, username: str, name: str, password: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password

    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise DomainError(_("The username “%s” is already taken.") % username, field="username")
    user = user_model(username=username, first_name=name)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    require_password_change(user=user)
    record_event(
        actor=actor, action="access.account.created", obj=user, fields={"username": username}
    )
    return user


@transaction.atomic
def set_account_active(*, actor: Actor, user: Any, active: bool) -> Any:
    if user.pk == getattr(actor, "pk", None) and not active:
        raise DomainError(_("You cannot deactivate your own account."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    record_event(
        actor=actor,
        action="access.account.activated" if active else "access.account.deactivated",
        obj=user,
        fields={"username": user.username},
    )
    return user


@transaction.atomic
def reset_password(*, actor: Actor, user: Any, password: str) -> Any:
    from django.contrib.auth.password_validation import validate_password

    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    require_password_change(user=user)
    end_all_sessions(user=user)
    unlock_account(actor=actor, user=user)
    record_event(actor=actor, action="access.account.password_reset", obj=user, fields={})
    return user


@transaction.atomic
def unlock_account(*, actor: Actor, user: Any) -> None:
    from axes.utils import reset

    reset(username=user.username)
    record_event(actor=actor, action="access.account.unlocked", obj=user, fields={})


@transaction.atomic
def create_staff(
    *,
    actor: Actor,
    username: str,
    name: str,
    org_unit: OrgUnit,
    password: str | None = None,
    positions: list[tuple[str, OrgUnit]] | None = None,
    roles: list[tuple[str, OrgUnit]] | None = None,
    **attrs: Any,
) -> Staff:
    """A staff member with a user account, posts and role assignments (people records and the
    access they are given, so it lives above both)."""
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise DomainError(_("The username “%s” is already taken.") % username, field="username")
    user = user_model(username=username, first_name=name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    staff = Staff(user=user, name=name.strip(), org_unit=org_unit, **attrs)
    staff.full_clean()
    staff.save()
    for position, unit in positions or []:
        StaffPosition.objects.create(staff=staff, position=position, org_unit=unit)
    record_event(
        actor=actor,
        action="people.staff.created",
        obj=staff,
        school_id=org_unit.school_id,
        fields={"username": username, "positions": [p for p, _unit in positions or []]},
    )
    for role, unit in roles or []:
        assign_role(actor=actor, user=user, role=role, org_unit=unit)
    return staff
