"""The concern form's student picker (issue 12 "Scale in every picker"): it listed every student of
the scope in one drop-down (10,003 options, 451 KB for the city centre counsellor). Now the page
is bounded whatever the scope's size, the student is searched for, and the posted code must lie
in the reporter's scope."""

from __future__ import annotations

import datetime
import re

import pytest

from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role
from xinqiao.alerts.models import Concern
from xinqiao.people.models import PICK_LIMIT, Student

pytestmark = pytest.mark.django_db

URL = "/alerts/concerns/new/"
NAME = "周同学"


@pytest.fixture
def centre_counsellor(world, django_user_model):
    """A counsellor of the city centre: every student of the city is in scope."""
    user = django_user_model.objects.create_user("centre_counsellor", password="x" * 12)
    assign_role(actor=None, user=user, role=Role.STATION_COUNSELLOR, org_unit=world.centre)
    return user


def _grow_city(world, total: int) -> None:
    """Bring the city's crowd of 周同学 to `total` students, over both schools."""
    have = Student.objects.filter(name__startswith=NAME).count()
    rows = []
    for i in range(have, total):
        cls = world.class_a1 if i % 2 else world.class_b1
        stu = Student(
            student_number=f"G{7000000 + i:018d}",
            name=f"{NAME}{i:04d}",
            gender="M",
            birth_date=datetime.date(2013, 1, 1),
            school=cls.school,
            school_class=cls,
        )
        stu.fill_search_keys()
        rows.append(stu)
    Student.objects.bulk_create(rows)


def _size_and_names(client, data=None) -> tuple[int, int]:
    r = client.post(URL, data) if data is not None else client.get(URL)
    assert r.status_code == 200
    html = r.content.decode()
    return len(html), len(re.findall(NAME + r"\d{4}", html))


def test_the_form_page_is_bounded_for_the_widest_role(world, centre_counsellor, client_for):
    client = client_for(centre_counsellor)
    searching = {"student__q": NAME, "student__search": "1"}  # the no-JavaScript search
    sizes = {}
    for total in (50, 500):
        _grow_city(world, total)
        blank_size, blank_names = _size_and_names(client)
        search_size, search_names = _size_and_names(client, searching)
        assert blank_names == 0
        assert search_names == PICK_LIMIT  # a page of the 50 or 500 matches
        sizes[total] = (blank_size, search_size)
    # The search term is echoed, the page is the same size at 50 and 500 students (± a few bytes
    # of the CSRF token and message text).
    assert abs(sizes[500][0] - sizes[50][0]) < 100
    assert abs(sizes[500][1] - sizes[50][1]) < 100


def test_searching_without_javascript_does_not_file(world, client_for):
    client = client_for(world.head_teacher)
    r = client.post(
        URL,
        {
            "student__q": "wxm",
            "student__search": "1",
            "what_seen": "哭",
            "seen_on": "2026-11-01",
            "urgency": "watch",
        },
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert f'value="{world.stu_a1.code}"' in html
    assert Concern.objects.filter(reporter=world.head_teacher).count() == 0


def test_the_form_files_the_picked_code(world, client_for):
    r = client_for(world.head_teacher).post(
        URL,
        {
            "student": str(world.stu_a1.code),
            "what_seen": "上课一直哭",
            "seen_on": "2026-11-01",
            "urgency": "watch",
        },
    )
    assert r.status_code == 302
    assert Concern.objects.filter(reporter=world.head_teacher, student=world.stu_a1).exists()


@pytest.mark.parametrize("student", ["stu_b1", "stu_a2"])
def test_the_form_refuses_a_code_outside_the_scope(world, client_for, student):
    """stu_b1: another school; stu_a2: the head teacher's school, not their class."""
    r = client_for(world.head_teacher).post(
        URL,
        {
            "student": str(getattr(world, student).code),
            "what_seen": "上课一直哭",
            "seen_on": "2026-11-01",
            "urgency": "watch",
        },
    )
    assert r.status_code == 200
    assert 'data-error-for="student"' in r.content.decode()
    assert not Concern.objects.filter(reporter=world.head_teacher).exists()
    # a sequential id is not accepted either
    r = client_for(world.head_teacher).post(
        URL,
        {"student": world.stu_a1.pk, "what_seen": "x", "seen_on": "2026-11-01", "urgency": "watch"},
    )
    assert 'data-error-for="student"' in r.content.decode()


def test_the_picker_asks_the_concern_endpoint(world, client_for):
    html = client_for(world.head_teacher).get(URL).content.decode()
    assert 'hx-get="/pick/concern-student/"' in html
    assert 'name="student__q"' in html
    r = client_for(world.head_teacher).get(
        "/pick/concern-student/", {"field": "student", "student__q": "王"}
    )
    assert "王小明" in r.content.decode()
    r = client_for(world.head_teacher_b).get(
        "/pick/concern-student/", {"field": "student", "student__q": "王"}
    )
    assert r.status_code == 200
    assert "王小明" not in r.content.decode()
    r = client_for(world.district_admin).get(
        "/pick/concern-student/", {"field": "student", "student__q": "王"}
    )
    assert r.status_code == 403  # a district administrator files no concerns
