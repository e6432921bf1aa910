"""Separation of duties (三权分立, 等保 2.0 level 3; issue 13).

The system administrator manages accounts, but a role that reads children's mental-health data
(tier T2 or T3), the auditor role and the system administrator role itself are given only when a
second person approves: one system administrator asks, with a reason; another approves or refuses.
Neither may decide a request for themselves, so nobody can make themselves psychology teacher at
the city centre or their own auditor. The system administrator and auditor roles are never held
by the same person. Other roles (city and district administrators' T1 roles, mentors, parents) are
given at once, as before.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import OrgUnit

from .models import RoleAssignment, RoleRequest
from .roles import ROLE_TIER, ROLE_UNIT_KINDS, Role, Tier
from .services import EXCLUSIVE_ROLES, assign_role, check_exclusive


def needs_second_person(role: str) -> bool:
    return role in EXCLUSIVE_ROLES or ROLE_TIER.get(role, Tier.NONE) >= Tier.T2


@transaction.atomic
def request_role(
    *, actor: Any, user: Any, role: str, org_unit: OrgUnit, reason: str = ""
) -> RoleAssignment | RoleRequest:
    """Give `role` at once, or — for a role that needs a second person — record the request."""
    if role not in Role.values or org_unit.kind not in ROLE_UNIT_KINDS[role]:
        return assign_role(actor=actor, user=user, role=role, org_unit=org_unit)  # its errors
    check_exclusive(user, role)
    if not needs_second_person(role):
        return assign_role(actor=actor, user=user, role=role, org_unit=org_unit)
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(
            _("This role reads children's data or the audit log: give a reason for the request."),
            field="reason",
        )
    if RoleAssignment.objects.active().filter(user=user, role=role, org_unit=org_unit).exists():
        raise DomainError(_("This person already holds this role there."))
    try:
        with transaction.atomic():
            request = RoleRequest.objects.create(
                user=user, role=role, org_unit=org_unit, reason=reason[:300], requested_by=actor
            )
    except IntegrityError:
        message = _("This role has already been requested and awaits a decision.")
        raise DomainError(message) from None
    record_event(
        actor=actor,
        action="access.role.requested",
        obj=request,
        school_id=org_unit.school_id,
        fields={"user": user.pk, "role": role, "unit": org_unit.pk, "reason": request.reason},
    )
    return request


@transaction.atomic
def decide_role_request(*, actor: Any, request: RoleRequest, approve: bool) -> RoleRequest:
    """The second person's decision: never the one who asked, never the person it is for."""
    request = RoleRequest.objects.select_for_update().get(pk=request.pk)
    if request.decided_at is not None:
        raise DomainError(_("This request has already been decided."))
    if actor.pk in (request.requested_by_id, request.user_id):
        raise DomainError(
            _("A second person must decide: not the one who asked, nor the person it is for.")
        )
    if approve:
        check_exclusive(request.user, request.role)
        assign_role(actor=actor, user=request.user, role=request.role, org_unit=request.org_unit)
    request.approved, request.decided_by, request.decided_at = approve, actor, timezone.now()
    request.save(update_fields=["approved", "decided_by", "decided_at"])
    record_event(
        actor=actor,
        action="access.role.approved" if approve else "access.role.refused",
        obj=request,
        school_id=request.org_unit.school_id,
        fields={"user": request.user_id, "role": request.role, "unit": request.org_unit_id},
    )
    return request
