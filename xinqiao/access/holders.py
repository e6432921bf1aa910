"""Who holds a role at a unit: the psychology teachers, moral-education leaders and district
administrators of a school, the counsellors of the station covering it, the psychiatrists of a
hospital. The one place such look-ups live (alerts, cases and screening notify and assign from
it); only active users with an active role assignment count. Each list holds a user once, in
the order of their first role assignment. Access imports no feature app, so this module does
not either."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xinqiao.orgs.models import Kind, OrgUnit

from .models import RoleAssignment
from .roles import Role


def _role_assignments(role: str, unit_ids: Iterable[int]) -> Any:
    return (
        RoleAssignment.objects.active()
        .filter(role=role, org_unit_id__in=list(unit_ids), user__is_active=True)
        .select_related("user", "user__staff")  # callers show the staff name
        .order_by("id")
    )


def users_with_role(role: str, units: Iterable[OrgUnit | int]) -> list[Any]:
    """The users holding `role` at any of `units` (units or their ids)."""
    ids = [u.pk if isinstance(u, OrgUnit) else u for u in units]
    users: dict[int, Any] = {}  # each user once, in the order of their first role assignment
    for assignment in _role_assignments(role, ids):
        users.setdefault(assignment.user_id, assignment.user)
    return list(users.values())


def users_with_role_by_unit(role: str, unit_ids: Iterable[int]) -> dict[int, list[Any]]:
    """{unit id: the users `users_with_role(role, [unit])` gives} for several units at once
    (units nobody holds the role at are left out)."""
    by_unit: dict[int, dict[int, Any]] = {}
    for assignment in _role_assignments(role, unit_ids):
        by_unit.setdefault(assignment.org_unit_id, {}).setdefault(
            assignment.user_id, assignment.user
        )
    return {unit: list(users.values()) for unit, users in by_unit.items()}


def psychology_teachers(school_id: int) -> list[Any]:
    return users_with_role(Role.PSYCHOLOGY_TEACHER, [school_id])


def psychology_teachers_by_school(school_ids: Iterable[int]) -> dict[int, list[Any]]:
    return users_with_role_by_unit(Role.PSYCHOLOGY_TEACHER, school_ids)


def owner_for_school(school_id: int) -> Any | None:
    """The school's first active psychology teacher: the last fallback of a new alert's owner.
    The counsellor on duty (the counselling app's roster) answers first, through
    alerts.hooks.alert_owners_for; this is what is left when no resolver answers."""
    teachers = psychology_teachers(school_id)
    return teachers[0] if teachers else None


def moral_education_leaders(school_id: int) -> list[Any]:
    return users_with_role(Role.SCHOOL_ADMIN, [school_id])


def station_counsellors(school_id: int) -> list[Any]:
    """The counsellors of every station of the school's district (the nearest district above)."""
    school = OrgUnit.objects.select_related("parent").get(pk=school_id)
    district = school.parent
    while district is not None and district.kind != Kind.DISTRICT:
        district = district.parent
    if district is None:
        return []
    stations = OrgUnit.objects.filter(parent=district, kind=Kind.STATION)
    return users_with_role(Role.STATION_COUNSELLOR, stations)


def district_admins(school_id: int) -> list[Any]:
    districts = OrgUnit.objects.get(pk=school_id).ancestors().filter(kind=Kind.DISTRICT)
    return users_with_role(Role.DISTRICT_ADMIN, list(districts))


def psychiatrists_by_hospital(hospital_ids: Iterable[int]) -> dict[int, list[Any]]:
    return users_with_role_by_unit(Role.PSYCHIATRIST, hospital_ids)
