"""Department accounts (issue 14, R2/R26): the city admin creates and ends them; the officer
sees aggregates of their area only, through disclosure control, and never a named child."""

from __future__ import annotations

import pytest
from django.urls import reverse

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.partners import services
from xinqiao.partners.models import DepartmentPost
from xinqiao.people.models import Student

from ..factories import StudentFactory

pytestmark = pytest.mark.django_db

NAMES = ("王小明", "李小红", "赵小刚")
PASSWORD = "Xinqiao-Partner-2026!"


def _flag(students):
    Student.objects.filter(pk__in=[s.pk for s in students]).update(orphan_or_unsupported=True)


def test_city_admin_creates_a_department_account(world, client_for):
    response = client_for(world.city_admin).post(
        reverse("partners:department-accounts"),
        {
            "username": "health_city",
            "name": "市卫健委联络员",
            "password": PASSWORD,
            "department": "health",
            "org_unit": world.city.pk,
        },
    )
    assert response.status_code == 302
    post = DepartmentPost.objects.get(user__username="health_city")
    assert post.department == "health"
    assert post.org_unit == world.city
    assert post.assignment.role == Role.DEPARTMENT_OFFICER
    assert post.assignment.is_active is True
    event = (
        AuditEvent.objects.filter(action="partners.department_post.created")
        .order_by("-seq")
        .first()
    )
    assert event.fields["department"] == "health"


def test_a_bad_department_account_is_refused_on_the_form(world, client_for):
    response = client_for(world.city_admin).post(
        reverse("partners:department-accounts"),
        {"username": "x", "name": "", "password": "", "department": "army", "org_unit": ""},
    )
    assert response.status_code == 400
    assert DepartmentPost.objects.filter(user__username="x").count() == 0


def test_ending_a_department_account_revokes_the_role_and_keeps_the_post(world, client_for):
    post = world.department_post
    response = client_for(world.city_admin).post(
        reverse("partners:department-account-end", kwargs={"code": post.code})
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.ended_on is not None
    assert RoleAssignment.objects.get(pk=post.assignment_id).is_active is False
    fresh = type(world.department_officer).objects.get(pk=world.department_officer.pk)
    assert client_for(fresh).get(reverse("partners:department-home")).status_code == 403


def test_the_district_admin_cannot_manage_department_accounts(world, client_for):
    client = client_for(world.district_admin)
    assert client.get(reverse("partners:department-accounts")).status_code == 403
    url = reverse("partners:department-account-end", kwargs={"code": world.department_post.code})
    assert client.post(url).status_code == 403


def test_another_citys_post_is_404(world, client_for):
    from xinqiao.orgs.services import create_unit

    other_city = create_unit(actor=None, parent=None, kind="city", name="别的市")
    user = type(world.city_admin).objects.create_user("health_other")
    post = services.give_department_post(
        actor=None, user=user, department="health", org_unit=other_city
    )
    url = reverse("partners:department-account-end", kwargs={"code": post.code})
    assert client_for(world.city_admin).post(url).status_code == 404


def test_the_civil_affairs_officer_sees_counts_and_never_a_name(world, client_for):
    many = [StudentFactory(school_class=world.class_a1, term=world.term) for _ in range(6)]
    _flag([*many, world.stu_a1, world.stu_b1])
    response = client_for(world.department_officer).get(reverse("partners:department-home"))
    assert response.status_code == 200
    html = response.content.decode()
    for name in (*NAMES, *(s.name for s in many)):
        assert name not in html
    area = response.context["areas"][0]
    assert area.is_civil_affairs is True
    total = area.circumstances[-1]
    assert total["total"] == 7  # district A only: stu_b1 (district B) is not counted
    assert total["not_followed"] == 7
    assert area.students[-1]["students"] == 8


def test_small_counts_are_hidden_from_the_officer(world, client_for):
    _flag([world.stu_a1])
    response = client_for(world.department_officer).get(reverse("partners:department-home"))
    area = response.context["areas"][0]
    assert area.circumstances[-1]["total"] is None
    assert area.cases[-1]["total"] is None  # one open case in the district
    assert "data-hidden-cell" in response.content.decode()


def test_another_department_sees_no_civil_affairs_table(world, client_for):
    user = type(world.city_admin).objects.create_user("youth_a")
    services.give_department_post(
        actor=None, user=user, department="youth", org_unit=world.district_a
    )
    response = client_for(user).get(reverse("partners:department-home"))
    assert response.status_code == 200
    assert response.context["areas"][0].is_civil_affairs is False
    assert "circumstances-table" not in response.content.decode()


def test_a_department_officer_never_reaches_a_named_child(world, client_for):
    officer = world.department_officer
    principal = principal_for(officer)
    assert principal.students(tier=Tier.T1).count() == 0
    assert principal.students(tier=Tier.T0, cap=Cap.VIEW_STUDENTS).count() == 0
    client = client_for(officer)
    for student in (world.stu_a1, world.stu_a2):
        url = reverse("people:student-detail", kwargs={"code": student.code})
        assert client.get(url).status_code == 403
    assert client.get(reverse("people:student-list")).status_code == 403
    assert client.get(reverse("alerts:concern-create")).status_code == 403
    assert client.get(reverse("pick", kwargs={"source": "concern-student"})).status_code == 403
    url = reverse("cases:case-detail", kwargs={"code": world.case_a2.code})
    assert client.get(url).status_code == 403
    html = client.get(reverse("home")).content.decode()
    for name in NAMES:
        assert name not in html


def test_department_home_is_403_for_staff(world, client_for):
    for user in (world.city_admin, world.psych, world.expert):
        assert client_for(user).get(reverse("partners:department-home")).status_code == 403
