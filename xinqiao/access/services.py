from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import OrgUnit

from .models import RoleAssignment
from .roles import ROLE_UNIT_KINDS, Role


@transaction.atomic
def assign_role(*, actor: Any, user: Any, role: str, org_unit: OrgUnit) -> RoleAssignment:
    if role not in Role.values:
        raise DomainError(_("Unknown role."))
    if org_unit.kind not in ROLE_UNIT_KINDS[role]:
        raise DomainError(
            _("The role %(role)s cannot be given at a unit of this kind.")
            % {"role": Role(role).label}
        )
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
def revoke_role(*, actor: Any, assignment: RoleAssignment) -> None:
    assignment.is_active = False
    assignment.save(update_fields=["is_active"])
    record_event(
        actor=actor,
        action="access.role.revoked",
        obj=assignment,
        school_id=assignment.org_unit.school_id,
        fields={"user": assignment.user_id, "role": assignment.role},
    )
