"""Separation of duties (三权分立): a role that reads children's data, the auditor role and the
system administrator role need a second system administrator; nobody decides for themselves."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import _user
from xinqiao.access import grants
from xinqiao.access.models import RoleAssignment, RoleRequest
from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_admin(world):
    return _user("sysadmin2", "第二系统管理员", world.city, Role.SYSTEM_ADMIN)


def _holds(user, role, unit) -> bool:
    return RoleAssignment.objects.active().filter(user=user, role=role, org_unit=unit).exists()


def _ask(client, username: str, role: str, unit, reason: str = "新学期任命"):
    return client.post(
        reverse("access:account-assign-role", args=[username]),
        {"role": role, "org_unit": str(unit.code), "reason": reason},
    )


def test_a_system_admin_cannot_make_itself_psychology_teacher(world, client_for, second_admin):
    """Issue 13: the system administrator made itself psychology teacher at the city centre."""
    client = client_for(world.sysadmin)

    _ask(client, "sysadmin", Role.PSYCHOLOGY_TEACHER, world.centre)
    [request] = RoleRequest.objects.filter(user=world.sysadmin)
    own = client.post(
        reverse("access:role-request-decide", args=[request.code]), {"decision": "approve"}
    )

    assert own.status_code == 302
    assert not _holds(world.sysadmin, Role.PSYCHOLOGY_TEACHER, world.centre)
    request.refresh_from_db()
    assert request.decided_at is None
    event = AuditEvent.objects.get(action="access.role.requested")
    assert event.fields["reason"] == "新学期任命"


def test_a_second_admin_approves_and_the_role_is_given(world, client_for, second_admin):
    _ask(client_for(world.sysadmin), "psych_b", Role.PSYCHOLOGY_TEACHER, world.centre)
    assert not _holds(world.psych_b, Role.PSYCHOLOGY_TEACHER, world.centre)
    request = RoleRequest.objects.get(user=world.psych_b)

    page = client_for(second_admin).get(reverse("access:account-list")).content.decode()
    client_for(second_admin).post(
        reverse("access:role-request-decide", args=[request.code]), {"decision": "approve"}
    )

    assert 'data-testid="role-requests"' in page
    assert _holds(world.psych_b, Role.PSYCHOLOGY_TEACHER, world.centre)
    approved = AuditEvent.objects.get(action="access.role.approved")
    assert approved.actor_id == second_admin.pk


def test_a_refused_request_gives_nothing(world, second_admin):
    request = grants.request_role(
        actor=world.sysadmin,
        user=world.psych_b,
        role=Role.AUDITOR,
        org_unit=world.city,
        reason="审计",
    )
    grants.decide_role_request(actor=second_admin, request=request, approve=False)

    assert not _holds(world.psych_b, Role.AUDITOR, world.city)
    assert AuditEvent.objects.filter(action="access.role.refused").exists()
    with pytest.raises(DomainError, match="already been decided"):
        grants.decide_role_request(actor=second_admin, request=request, approve=True)


def test_nobody_decides_a_request_for_themselves(world, second_admin):
    request = grants.request_role(
        actor=world.sysadmin,
        user=second_admin,
        role=Role.PSYCHOLOGY_TEACHER,
        org_unit=world.centre,
        reason="兼任",
    )
    with pytest.raises(DomainError, match="second person"):
        grants.decide_role_request(actor=second_admin, request=request, approve=True)
    with pytest.raises(DomainError, match="second person"):
        grants.decide_role_request(actor=world.sysadmin, request=request, approve=True)


@pytest.mark.parametrize(
    ("role", "needs"),
    [
        (Role.PSYCHOLOGY_TEACHER, True),
        (Role.HEAD_TEACHER, True),
        (Role.STATION_COUNSELLOR, True),
        (Role.PSYCHIATRIST, True),
        (Role.AUDITOR, True),
        (Role.SYSTEM_ADMIN, True),
        (Role.CITY_ADMIN, False),
        (Role.MENTOR, False),
        (Role.PARENT, False),
        (Role.COMMITTEE_MEMBER, False),
    ],
)
def test_which_roles_need_a_second_person(role, needs):
    assert grants.needs_second_person(role) is needs


def test_a_request_needs_a_reason(world):
    with pytest.raises(DomainError, match="reason"):
        grants.request_role(
            actor=world.sysadmin,
            user=world.psych_b,
            role=Role.PSYCHOLOGY_TEACHER,
            org_unit=world.centre,
            reason="  ",
        )


def test_system_admin_and_auditor_are_never_one_person(world, second_admin):
    with pytest.raises(DomainError, match="two different people"):
        assign_role(actor=None, user=world.sysadmin, role=Role.AUDITOR, org_unit=world.city)
    with pytest.raises(DomainError, match="two different people"):
        grants.request_role(
            actor=second_admin,
            user=world.auditor,
            role=Role.SYSTEM_ADMIN,
            org_unit=world.city,
            reason="x",
        )


@pytest.mark.parametrize("who", ["psych", "auditor", "city_admin", "school_admin"])
def test_only_system_admins_decide(world, client_for, second_admin, who):
    request = grants.request_role(
        actor=world.sysadmin,
        user=world.psych_b,
        role=Role.PSYCHOLOGY_TEACHER,
        org_unit=world.centre,
        reason="x",
    )
    response = client_for(getattr(world, who)).post(
        reverse("access:role-request-decide", args=[request.code]), {"decision": "approve"}
    )

    assert response.status_code == 403
    assert not _holds(world.psych_b, Role.PSYCHOLOGY_TEACHER, world.centre)
