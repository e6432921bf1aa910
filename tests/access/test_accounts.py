import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent

from ..factories import two_schools, with_personas


@pytest.fixture
def schools(db):
    """Two schools (a student in each class, so the account pages could leak one), the system
    admin, and the roles that must not manage accounts; psych_b is the account acted on."""
    return with_personas(
        two_schools(), "sysadmin", "city_admin", "auditor", "psych", "head_teacher", "psych_b"
    )


def test_system_admin_lists_accounts_without_student_data(schools, client_for):
    response = client_for(schools.sysadmin).get(reverse("access:account-list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "psych_a" in body
    assert schools.stu_a1.student_number not in body


def test_other_roles_cannot_manage_accounts(schools, client_for):
    for user in (schools.city_admin, schools.psych, schools.auditor, schools.head_teacher):
        assert client_for(user).get(reverse("access:account-list")).status_code == 403
        detail = reverse("access:account-detail", args=["psych_b"])
        assert client_for(user).get(detail).status_code == 403


def test_create_account_assign_role_and_revoke(schools, client_for):
    client = client_for(schools.sysadmin)
    response = client.post(
        reverse("access:account-create"),
        {"username": "new_psych", "name": "新老师", "password": "Good-Passw0rd!"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("access:account-assign-role", args=["new_psych"]),
        {"role": Role.MENTOR, "org_unit": str(schools.school_b.code)},  # T1: given at once
    )
    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user__username="new_psych")
    assert (assignment.role, assignment.org_unit) == (Role.MENTOR, schools.school_b)
    client.post(
        reverse("access:account-revoke-role", args=["new_psych"]), {"assignment": assignment.pk}
    )
    assignment.refresh_from_db()
    assert assignment.is_active is False
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))[-3:]
    assert actions == ["access.account.created", "access.role.assigned", "access.role.revoked"]


def test_weak_password_is_refused_with_reason(schools, client_for):
    response = client_for(schools.sysadmin).post(
        reverse("access:account-create"),
        {"username": "weak", "name": "弱", "password": "password"},
    )
    assert response.status_code == 400
    assert not RoleAssignment.objects.filter(user__username="weak").exists()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="weak").exists()


def test_role_at_wrong_unit_kind_is_refused(schools, client_for):
    client = client_for(schools.sysadmin)
    client.post(
        reverse("access:account-assign-role", args=["psych_b"]),
        {"role": Role.DISTRICT_ADMIN, "org_unit": str(schools.school_b.code)},
    )
    assert not RoleAssignment.objects.filter(
        user__username="psych_b", role=Role.DISTRICT_ADMIN
    ).exists()


def test_reset_password_unlocks(schools, client_for):
    from django.test import Client

    anonymous = Client()
    for _ in range(5):
        anonymous.post(reverse("login"), {"username": "psych_b", "password": "wrong-Passw0rd!"})
    locked = anonymous.post(reverse("login"), {"username": "psych_b", "password": PASSWORD})
    assert locked.status_code == 429
    client_for(schools.sysadmin).post(
        reverse("access:account-reset-password", args=["psych_b"]),
        {"password": "Fresh-Kq7-Passw0rd!"},
    )
    response = anonymous.post(
        reverse("login"), {"username": "psych_b", "password": "Fresh-Kq7-Passw0rd!"}
    )
    assert response.status_code == 302


def test_cannot_deactivate_self(schools, client_for):
    client_for(schools.sysadmin).post(
        reverse("access:account-set-active", args=["sysadmin"]), {"active": "0"}
    )
    schools.sysadmin.refresh_from_db()
    assert schools.sysadmin.is_active
