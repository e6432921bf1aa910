"""Org tree browser, unit pages, tree editing and terms: who sees what, who may change what."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from xinqiao.access.services import create_staff
from xinqiao.audit.models import AuditEvent
from xinqiao.orgs.models import OrgUnit, Term
from xinqiao.orgs.services import create_unit
from xinqiao.people.models import GroupKind, Position, StaffPosition
from xinqiao.people.services import (
    appoint_committee_member,
    create_student,
    set_group_members,
)

from ..factories import two_schools, with_personas


@pytest.fixture
def schools(db):
    """Two schools with a student per class, the world's personas that browse or edit the tree
    (and those refused it), the station in 甲区 and the hospital their roles sit in."""
    return with_personas(
        two_schools(),
        "city_admin",
        "district_admin",
        "station_counsellor",
        "school_admin",
        "psych",
        "head_teacher",
        "sysadmin",
        "auditor",
        "psychiatrist",
        "committee",
        "parent",
        "psych_b",
        "head_teacher_b",
    )


def _unit_url(unit) -> str:
    return reverse("orgs:unit-detail", kwargs={"code": unit.code})


def _html(response) -> str:
    return response.content.decode()


# --- tree -------------------------------------------------------------------------------------
def test_tree_city_admin_sees_city_with_counts(schools, client_for):
    response = client_for(schools.city_admin).get(reverse("orgs:tree"))

    assert response.status_code == 200
    html = _html(response)
    assert schools.city.name in html
    assert f'data-unit="{schools.city.code}"' in html


def test_tree_school_admin_sees_own_school_only(schools, client_for):
    response = client_for(schools.school_admin).get(reverse("orgs:tree"))

    html = _html(response)
    assert f'data-unit="{schools.school_a.code}"' in html
    assert f'data-unit="{schools.grade_a7.code}"' in html  # one top unit: its children are shown
    assert schools.school_b.name not in html
    assert f'data-unit="{schools.city.code}"' not in html


def test_tree_head_teacher_sees_own_class(schools, client_for):
    response = client_for(schools.head_teacher).get(reverse("orgs:tree"))

    html = _html(response)
    assert f'data-unit="{schools.class_a1.code}"' in html
    assert f'data-unit="{schools.class_a2.code}"' not in html


@pytest.mark.parametrize("role", ["committee", "parent", "auditor", "psychiatrist"])
def test_tree_wrong_role_is_refused(schools, client_for, role):
    response = client_for(getattr(schools, role)).get(reverse("orgs:tree"))

    assert response.status_code == 403


def test_tree_anonymous_is_sent_to_login(schools, client):
    response = client.get(reverse("orgs:tree"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# --- unit pages -------------------------------------------------------------------------------
def test_district_page_lists_schools_with_sql_counts(schools, client_for):
    response = client_for(schools.district_admin).get(_unit_url(schools.district_a))

    assert response.status_code == 200
    children = {u.pk: u for u in response.context["children"]}
    school = children[schools.school_a.pk]
    assert (school.n_students, school.n_classes) == (2, 2)
    assert response.context["unit"].n_students == 2
    assert schools.school_b.name not in _html(response)


def test_unit_page_breadcrumbs_link_only_within_scope(schools, client_for):
    response = client_for(schools.school_admin).get(_unit_url(schools.class_a1))

    crumbs = [(c.unit.pk, c.visible) for c in response.context["crumbs"]]
    assert crumbs == [
        (schools.city.pk, False),
        (schools.district_a.pk, False),
        (schools.school_a.pk, True),
        (schools.grade_a7.pk, True),
    ]
    assert _unit_url(schools.district_a) not in _html(response)


def test_unit_page_ancestors_in_one_query(schools, client_for):
    client = client_for(schools.school_admin)
    client.get(_unit_url(schools.class_a1))  # warm up the session

    with CaptureQueriesContext(connection) as ctx:
        client.get(_unit_url(schools.class_a1))

    ancestor_queries = [q for q in ctx.captured_queries if '"path" IN' in q["sql"]]
    assert len(ancestor_queries) == 1


def test_school_page_shows_attributes_positions_and_group_gaps(schools, client_for):
    staff = create_staff(
        actor=None,
        username="principal_a",
        name="甲校校长",
        org_unit=schools.school_a,
        positions=[(Position.PRINCIPAL, schools.school_a)],
    )
    set_group_members(
        actor=None,
        school=schools.school_a,
        kind=GroupKind.LEADERSHIP,
        members=[staff],
        leader=staff,
    )

    response = client_for(schools.psych).get(_unit_url(schools.school_a))

    assert response.status_code == 200
    html = _html(response)
    assert "3601000001" in html
    assert "甲校校长" in html
    assert f'data-gap="{GroupKind.WORK}"' in html
    assert f'data-gap="{GroupKind.CRISIS}"' in html
    assert f'data-gap="{GroupKind.LEADERSHIP}"' not in html
    assert ("Principal", 1) in [(str(label), n) for label, n in response.context["positions"]]


def test_school_page_hides_group_member_names_without_staff_right(schools, client_for):
    staff = create_staff(
        actor=None, username="principal_a", name="甲校校长", org_unit=schools.school_a
    )
    set_group_members(
        actor=None, school=schools.school_a, kind=GroupKind.LEADERSHIP, members=[staff]
    )

    response = client_for(schools.sysadmin).get(_unit_url(schools.school_a))

    assert response.status_code == 200
    assert "甲校校长" not in _html(response)


def test_class_page_shows_students_head_teacher_and_committee(schools, client_for):
    StaffPosition.objects.create(
        staff=schools.head_teacher.staff, position=Position.HEAD_TEACHER, org_unit=schools.class_a1
    )
    appoint_committee_member(actor=None, student=schools.stu_a1, term=schools.term)

    response = client_for(schools.head_teacher).get(_unit_url(schools.class_a1))

    assert response.status_code == 200
    html = _html(response)
    assert [s.name for s in response.context["students"]] == ["王小明"]
    assert "甲校七1班主任" in html
    assert 'data-testid="committee"' in html
    # Junior high: one boy only, so the missing girl is flagged.
    assert 'data-testid="committee-warning"' in html


def test_class_page_no_warning_with_boy_and_girl(schools, client_for):
    girl = create_student(
        actor=None,
        student_number="G360102201303030021",
        name="王小丽",
        gender="F",
        birth_date=datetime.date(2013, 3, 3),
        school_class=schools.class_a1,
        term=schools.term,
    )
    appoint_committee_member(actor=None, student=schools.stu_a1, term=schools.term)
    appoint_committee_member(actor=None, student=girl, term=schools.term)

    response = client_for(schools.psych).get(_unit_url(schools.class_a1))

    committee = response.context["committee"]
    assert (committee.boys, committee.girls, committee.pair_missing) == (1, 1, False)
    assert 'data-testid="committee-warning"' not in _html(response)


def test_class_page_for_system_admin_shows_no_student_names(schools, client_for):
    response = client_for(schools.sysadmin).get(_unit_url(schools.class_a1))

    assert response.status_code == 200
    assert "王小明" not in _html(response)


@pytest.mark.parametrize("role", ["psych_b", "head_teacher_b"])
@pytest.mark.parametrize("unit", ["school_a", "class_a1", "district_a"])
def test_unit_page_other_school_gets_404(schools, client_for, role, unit):
    response = client_for(getattr(schools, role)).get(_unit_url(getattr(schools, unit)))

    assert response.status_code == 404


def test_unit_page_head_teacher_other_class_gets_404(schools, client_for):
    response = client_for(schools.head_teacher).get(_unit_url(schools.class_a2))

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["committee", "parent", "auditor"])
def test_unit_page_wrong_role_gets_403(schools, client_for, role):
    response = client_for(getattr(schools, role)).get(_unit_url(schools.school_a))

    assert response.status_code == 403


def test_unit_page_query_count_constant_in_number_of_children(schools, client_for):
    client = client_for(schools.city_admin)
    client.get(_unit_url(schools.grade_a7))
    with CaptureQueriesContext(connection) as before:
        client.get(_unit_url(schools.grade_a7))
    for i in range(5):
        create_unit(actor=None, parent=schools.grade_a7, kind="class", name=f"七({i + 3})班")

    with CaptureQueriesContext(connection) as after:
        response = client.get(_unit_url(schools.grade_a7))

    assert len(response.context["children"]) == 7
    assert len(after.captured_queries) == len(before.captured_queries)


# --- editing the tree -------------------------------------------------------------------------
def test_school_admin_adds_a_class_to_a_grade(schools, client_for):
    url = reverse("orgs:unit-create", kwargs={"code": schools.grade_a7.code})
    client = client_for(schools.school_admin)
    assert client.get(url).status_code == 200

    response = client.post(url, {"name": "七(3)班", "sort_order": 3})

    created = OrgUnit.objects.get(name="七(3)班")
    assert response.status_code == 302
    assert response["Location"] == _unit_url(created)
    assert (created.parent_id, created.kind, created.school_id) == (
        schools.grade_a7.pk,
        "class",
        schools.school_a.pk,
    )
    assert AuditEvent.objects.filter(action="orgs.unit.created", object_id=str(created.pk)).exists()


def test_district_admin_chooses_kind_then_adds_a_school(schools, client_for):
    url = reverse("orgs:unit-create", kwargs={"code": schools.district_a.code})
    client = client_for(schools.district_admin)

    choice = client.get(url)
    response = client.post(
        url,
        {
            "kind": "school",
            "name": "甲区实验小学",
            "school_code": "3601000009",
            "stage": "primary",
            "student_count": "1200",
            "sort_order": "0",
        },
    )

    assert choice.status_code == 200
    assert [k for k, _label in choice.context["kinds"]] == ["station", "hospital", "school"]
    assert response.status_code == 302
    school = OrgUnit.objects.get(school_code="3601000009")
    assert (school.stage, school.student_count, school.school_id) == ("primary", 1200, school.pk)


def test_add_refuses_a_duplicate_school_code_next_to_the_field(schools, client_for):
    url = reverse("orgs:unit-create", kwargs={"code": schools.district_a.code})

    response = client_for(schools.district_admin).post(
        url,
        {
            "kind": "school",
            "name": "重复",
            "school_code": "3601000001",
            "stage": "junior",
            "sort_order": "0",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not OrgUnit.objects.filter(name="重复").exists()


def test_add_kind_not_allowed_is_not_offered(schools, client_for):
    url = reverse("orgs:unit-create", kwargs={"code": schools.grade_a7.code})

    client_for(schools.school_admin).post(url, {"kind": "school", "name": "错误"})

    created = OrgUnit.objects.get(name="错误")
    assert created.kind == "class"  # a grade only takes classes; the kind field is ignored


def test_add_under_a_class_is_refused(schools, client_for):
    url = reverse("orgs:unit-create", kwargs={"code": schools.class_a1.code})

    response = client_for(schools.school_admin).get(url)

    assert response.status_code == 403


def test_school_admin_renames_a_class(schools, client_for):
    url = reverse("orgs:unit-edit", kwargs={"code": schools.class_a1.code})

    response = client_for(schools.school_admin).post(url, {"name": "七(1)班·新", "sort_order": 1})

    schools.class_a1.refresh_from_db()
    assert response.status_code == 302
    assert schools.class_a1.name == "七(1)班·新"
    event = AuditEvent.objects.filter(action="orgs.unit.updated").latest("seq")
    assert event.fields["name"] == ["七(1)班", "七(1)班·新"]


def test_edit_school_attributes(schools, client_for):
    url = reverse("orgs:unit-edit", kwargs={"code": schools.school_a.code})

    response = client_for(schools.district_admin).post(
        url,
        {
            "name": schools.school_a.name,
            "school_code": "3601000001",
            "stage": "nine_year",
            "student_count": "950",
            "township_central": "on",
            "sort_order": "0",
        },
    )

    schools.school_a.refresh_from_db()
    assert response.status_code == 302
    assert (
        schools.school_a.stage,
        schools.school_a.student_count,
        schools.school_a.township_central,
    ) == ("nine_year", 950, True)


def test_edit_with_empty_name_shows_error(schools, client_for):
    url = reverse("orgs:unit-edit", kwargs={"code": schools.class_a1.code})

    response = client_for(schools.school_admin).post(url, {"name": "", "sort_order": 1})

    assert response.status_code == 200
    assert 'data-error-for="name"' in _html(response)


@pytest.mark.parametrize("role", ["psych", "head_teacher", "station_counsellor", "sysadmin"])
def test_edit_without_edit_right_gets_403(schools, client_for, role):
    url = reverse("orgs:unit-edit", kwargs={"code": schools.class_a1.code})

    response = client_for(getattr(schools, role)).get(url)

    assert response.status_code == 403


def test_edit_other_school_gets_404(schools, client_for):
    url = reverse("orgs:unit-edit", kwargs={"code": schools.class_b1.code})

    response = client_for(schools.school_admin).get(url)

    assert response.status_code == 404


def test_edit_other_district_for_district_admin_gets_404(schools, client_for):
    url = reverse("orgs:unit-edit", kwargs={"code": schools.school_b.code})

    response = client_for(schools.district_admin).post(url, {"name": "x"})

    assert response.status_code == 404


def test_school_admin_moves_a_class_to_another_grade(schools, client_for):
    grade_a8 = create_unit(
        actor=None, parent=schools.school_a, kind="grade", name="八年级", grade_level=8
    )
    url = reverse("orgs:unit-move", kwargs={"code": schools.class_a2.code})
    client = client_for(schools.school_admin)
    form = client.get(url)

    response = client.post(url, {"new_parent": str(grade_a8.code)})

    schools.class_a2.refresh_from_db()
    assert [u.pk for u in form.context["form"].fields["new_parent"].queryset] == [grade_a8.pk]
    assert response.status_code == 302
    assert schools.class_a2.parent_id == grade_a8.pk
    assert schools.class_a2.path.startswith(grade_a8.path)


def test_move_to_a_unit_outside_scope_is_invalid(schools, client_for):
    url = reverse("orgs:unit-move", kwargs={"code": schools.class_a2.code})

    response = client_for(schools.school_admin).post(
        url, {"new_parent": str(schools.grade_b7.code)}
    )

    schools.class_a2.refresh_from_db()
    assert response.status_code == 200
    assert schools.class_a2.parent_id == schools.grade_a7.pk


def test_school_admin_cannot_move_or_deactivate_own_school(schools, client_for):
    client = client_for(schools.school_admin)

    move = client.get(reverse("orgs:unit-move", kwargs={"code": schools.school_a.code}))
    deactivate = client.post(
        reverse("orgs:unit-set-active", kwargs={"code": schools.school_a.code}), {"active": "0"}
    )

    schools.school_a.refresh_from_db()
    assert (move.status_code, deactivate.status_code) == (403, 403)
    assert schools.school_a.is_active


def test_district_admin_deactivates_and_reactivates_a_school(schools, client_for):
    url = reverse("orgs:unit-set-active", kwargs={"code": schools.school_a.code})
    client = client_for(schools.district_admin)

    client.post(url, {"active": "0"})
    schools.school_a.refresh_from_db()
    was_active = schools.school_a.is_active
    client.post(url, {"active": "1"})
    schools.school_a.refresh_from_db()

    assert (was_active, schools.school_a.is_active) == (False, True)


def test_set_active_get_is_405(schools, client_for):
    url = reverse("orgs:unit-set-active", kwargs={"code": schools.school_a.code})

    response = client_for(schools.district_admin).get(url)

    assert response.status_code == 405


# --- terms ------------------------------------------------------------------------------------
def test_city_admin_lists_and_creates_terms(schools, client_for):
    client = client_for(schools.city_admin)
    listing = client.get(reverse("orgs:term-list"))

    response = client.post(
        reverse("orgs:term-list"),
        {
            "school_year_start": "2026",
            "season": "spring",
            "start_date": "2027-02-20",
            "end_date": "2027-07-05",
        },
    )

    assert listing.status_code == 200
    assert 'data-term="2026-2027-1"' in _html(listing)
    assert response.status_code == 302
    term = Term.objects.get(code="2026-2027-2")
    assert not term.is_current


def test_term_end_before_start_is_an_error_next_to_the_field(schools, client_for):
    response = client_for(schools.city_admin).post(
        reverse("orgs:term-list"),
        {
            "school_year_start": "2027",
            "season": "autumn",
            "start_date": "2027-09-01",
            "end_date": "2027-08-01",
        },
    )

    assert response.status_code == 200
    assert 'data-error-for="end_date"' in _html(response)
    assert not Term.objects.filter(code="2027-2028-1").exists()


def test_duplicate_term_is_refused(schools, client_for):
    response = client_for(schools.city_admin).post(
        reverse("orgs:term-list"),
        {
            "school_year_start": "2026",
            "season": "autumn",
            "start_date": "2026-09-01",
            "end_date": "2027-01-20",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert Term.objects.count() == 1


def test_city_admin_makes_a_term_current(schools, client_for):
    spring = Term.objects.create(
        code="2026-2027-2",
        school_year_start=2026,
        season="spring",
        start_date=datetime.date(2027, 2, 20),
        end_date=datetime.date(2027, 7, 5),
    )
    url = reverse("orgs:term-make-current", kwargs={"code": spring.code})

    response = client_for(schools.city_admin).post(url)

    assert response.status_code == 302
    assert list(Term.objects.filter(is_current=True).values_list("code", flat=True)) == [
        "2026-2027-2"
    ]


@pytest.mark.parametrize("role", ["district_admin", "school_admin", "psych", "head_teacher"])
def test_terms_are_city_admin_only(schools, client_for, role):
    client = client_for(getattr(schools, role))

    listing = client.get(reverse("orgs:term-list"))
    make = client.post(reverse("orgs:term-make-current", kwargs={"code": schools.term.code}))

    assert (listing.status_code, make.status_code) == (403, 403)


def test_make_current_unknown_term_is_404(schools, client_for):
    url = reverse("orgs:term-make-current", kwargs={"code": "1999-2000-1"})

    response = client_for(schools.city_admin).post(url)

    assert response.status_code == 404
