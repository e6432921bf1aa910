"""Student list and profile, ID-number reveal, student editing, staff list: scope, roles, audit."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from xinqiao.access.services import create_staff
from xinqiao.audit.models import AuditEvent
from xinqiao.people.models import Position, StaffPosition, Student
from xinqiao.people.services import (
    appoint_committee_member,
    create_student,
    update_student,
)

from ..conftest import ID_A1
from ..factories import two_schools, with_personas


@pytest.fixture
def schools(db):
    """Two schools with a student per class (王小明's mother and his own committee account linked
    to him), and the staff of both schools and above them whose views of students and staff
    differ."""
    return with_personas(
        two_schools(),
        "city_admin",
        "district_admin",
        "station_counsellor",
        "school_admin",
        "psych",
        "head_teacher",
        "mentor",
        "auditor",
        "sysadmin",
        "committee",
        "parent",
        "psych_b",
        "head_teacher_b",
    )


def _html(response) -> str:
    return response.content.decode()


def _list(client, **params):
    return client.get(reverse("people:student-list"), params)


def _names(response) -> list[str]:
    return [s.name for s in response.context["page"]]


def _more_students(cls, term, n: int, *, start: int = 0) -> None:
    for i in range(start, start + n):
        create_student(
            actor=None,
            student_number=f"G3601022013010{i:04d}1",
            name=f"学生{i:03d}",
            gender="M" if i % 2 else "F",
            birth_date=datetime.date(2013, 1, 1),
            school_class=cls,
            term=term,
        )


# --- student list -----------------------------------------------------------------------------
def test_student_list_district_admin_sees_own_district_only(schools, client_for):
    response = _list(client_for(schools.district_admin))

    assert response.status_code == 200
    assert sorted(_names(response)) == ["李小红", "王小明"]
    assert "赵小刚" not in _html(response)


def test_student_list_city_admin_sees_all(schools, client_for):
    response = _list(client_for(schools.city_admin))

    assert sorted(_names(response)) == ["李小红", "王小明", "赵小刚"]


def test_student_list_head_teacher_sees_own_class_only(schools, client_for):
    response = _list(client_for(schools.head_teacher))

    assert _names(response) == ["王小明"]
    assert "李小红" not in _html(response)
    assert "赵小刚" not in _html(response)


def test_student_list_other_school_sees_nothing_of_school_a(schools, client_for):
    response = _list(client_for(schools.psych_b))

    assert _names(response) == ["赵小刚"]
    assert "王小明" not in _html(response)
    assert "李小红" not in _html(response)


def test_student_list_refuses_a_parent(schools, client_for):
    # A parent has their own pages (family app) and never the staff search with its filters.
    response = _list(client_for(schools.parent))

    assert response.status_code == 403


@pytest.mark.parametrize("role", ["committee", "auditor", "sysadmin"])
def test_student_list_wrong_role_gets_403(schools, client_for, role):
    response = _list(client_for(getattr(schools, role)))

    assert response.status_code == 403


def test_student_list_search_by_name(schools, client_for):
    response = _list(client_for(schools.city_admin), q="小红")

    assert _names(response) == ["李小红"]


def test_student_list_search_by_student_number(schools, client_for):
    response = _list(client_for(schools.city_admin), q=schools.stu_b1.student_number.lower())

    assert _names(response) == ["赵小刚"]


def test_student_list_search_by_id_number(schools, client_for):
    response = _list(client_for(schools.school_admin), q=ID_A1)

    assert _names(response) == ["王小明"]


def test_search_by_a_whole_number_is_audited_by_its_hash_and_rate_limited(
    schools, client_for, monkeypatch
):
    monkeypatch.setattr("xinqiao.people.services.NUMBER_SEARCH_LIMIT", 2)
    cache.clear()  # the counters of earlier tests' users (the same ids after their rollback)
    client = client_for(schools.school_admin)

    by_id = _list(client, q=ID_A1)
    by_number = _list(client, q=schools.stu_a1.student_number)
    refused = _list(client, q=ID_A1)
    by_name = _list(client, q="王小明")  # a name search is not counted

    assert _names(by_id) == _names(by_number) == _names(by_name) == ["王小明"]
    assert _names(refused) == []
    assert 'data-testid="search-error"' in _html(refused)
    done = AuditEvent.objects.filter(action="people.number_search.done").order_by("seq")
    assert [e.fields["kind"] for e in done] == ["id_number", "student_number"]
    assert all(ID_A1 not in str(e.fields) for e in done)  # the keyed hash, never the number
    assert done[0].fields["hash"] == Student.objects.get(pk=schools.stu_a1.pk).id_number_hash
    denied = AuditEvent.objects.get(action="people.number_search.refused")
    assert denied.result == "denied"
    api = client.get("/api/v1/students", {"q": ID_A1})
    assert api.status_code == 429


def test_student_list_search_cannot_reach_outside_scope(schools, client_for):
    response = _list(client_for(schools.school_admin), q="赵小刚")

    assert _names(response) == []


def test_student_list_filter_by_class(schools, client_for):
    response = _list(
        client_for(schools.school_admin),
        school=str(schools.school_a.code),
        school_class=str(schools.class_a2.code),
    )

    assert _names(response) == ["李小红"]


def test_student_list_filter_by_other_schools_class_finds_nothing_extra(schools, client_for):
    response = _list(client_for(schools.school_admin), school_class=str(schools.class_b1.code))

    assert "赵小刚" not in _names(response)


def test_student_list_filter_by_school_and_district(schools, client_for):
    client = client_for(schools.city_admin)

    by_district = _list(client, district=str(schools.district_b.code))
    by_school = _list(client, school=str(schools.school_a.code))

    assert _names(by_district) == ["赵小刚"]
    assert sorted(_names(by_school)) == ["李小红", "王小明"]
    assert "grade" in by_school.context["form"].fields


def test_student_list_school_filter_is_a_picker_past_the_drop_down_limit(
    schools, client_for, monkeypatch
):
    """A city has more schools than a drop-down can hold (the old one stopped at 500): past
    SELECT_LIMIT the school filter searches as one types, within the user's scope."""
    monkeypatch.setattr("xinqiao.people.views.SELECT_LIMIT", 1)
    client = client_for(schools.city_admin)

    response = _list(client)
    picked = _list(client, school=str(schools.school_a.code))
    found = client.get(
        reverse("pick", args=["filter-school"]),
        {"field": "school", "school__q": schools.school_b.name},
    )

    html = _html(response)
    assert 'name="school__q"' in html
    assert '<select name="school"' not in html
    assert sorted(_names(picked)) == ["李小红", "王小明"]
    assert "checked" in _html(picked).split('name="school__q"')[1].split("</fieldset>")[0]
    assert str(schools.school_b.code) in _html(found)


def test_student_list_school_picker_keeps_to_the_scope(schools, client_for, monkeypatch):
    monkeypatch.setattr("xinqiao.people.views.SELECT_LIMIT", 0)
    client = client_for(schools.district_admin)

    foreign = _list(client, school=str(schools.school_b.code))
    found = client.get(
        reverse("pick", args=["filter-school"]),
        {"field": "school", "school__q": schools.school_b.name},
    )
    refused = client_for(schools.sysadmin).get(
        reverse("pick", args=["filter-school"]), {"field": "school", "school__q": "校"}
    )

    assert "赵小刚" not in _names(foreign)
    assert str(schools.school_b.code) not in _html(found)
    assert refused.status_code == 403


def test_student_list_filter_by_status_gender_and_flags(schools, client_for):
    update_student(actor=None, student=schools.stu_a2, left_behind=True, low_income=True)
    update_student(actor=None, student=schools.stu_a1, left_behind=True, status="suspended")
    client = client_for(schools.school_admin)

    flagged = _list(client, flags=["left_behind", "low_income"])
    suspended = _list(client, status="suspended")
    girls = _list(client, gender="F")

    assert _names(flagged) == ["李小红"]
    assert _names(suspended) == ["王小明"]
    assert _names(girls) == ["李小红"]
    assert "data-flag" in _html(flagged)


def test_student_list_paginates_by_50(schools, client_for):
    _more_students(schools.class_a1, schools.term, 55)
    client = client_for(schools.school_admin)

    first = _list(client)
    second = _list(client, page=2)

    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 7
    assert first.context["page"].paginator.count == 57


def test_student_list_query_count_does_not_grow_with_rows(schools, client_for):
    update_student(actor=None, student=schools.stu_a1, left_behind=True)
    client = client_for(schools.school_admin)
    _list(client)
    with CaptureQueriesContext(connection) as few:
        _list(client)
    _more_students(schools.class_a1, schools.term, 30)
    _more_students(schools.class_a2, schools.term, 10, start=100)

    with CaptureQueriesContext(connection) as many:
        response = _list(client)

    assert len(response.context["page"]) == 42
    assert len(many.captured_queries) == len(few.captured_queries)


def test_student_list_htmx_returns_the_browser_fragment(schools, client_for):
    response = client_for(schools.school_admin).get(
        reverse("people:student-list"), {"q": "王"}, HTTP_HX_REQUEST="true"
    )

    html = _html(response)
    assert html.lstrip().startswith('<div id="student-browser">')
    assert "<html" not in html


def test_student_list_htmx_history_restore_gets_the_whole_page(schools, client_for):
    response = client_for(schools.school_admin).get(
        reverse("people:student-list"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    assert "<html" in _html(response)


# --- profile ----------------------------------------------------------------------------------
def _detail(client, student):
    return client.get(reverse("people:student-detail", kwargs={"code": student.code}))


def test_profile_shows_basic_data_enrolments_guardians(schools, client_for):
    appoint_committee_member(actor=None, student=schools.stu_a1, term=schools.term)

    response = _detail(client_for(schools.head_teacher), schools.stu_a1)

    assert response.status_code == 200
    html = _html(response)
    assert "G360**************X" in html  # the 学籍号 embeds the ID number: masked alike
    assert schools.stu_a1.student_number not in html
    assert "王妈妈" in html
    assert "13800138000" in html  # a head teacher calls parents
    assert 'data-testid="committee-terms"' in html
    assert [e.term_id for e in response.context["profile"].enrolments] == [schools.term.pk]


def test_profile_masks_id_number_by_default(schools, client_for):
    response = _detail(client_for(schools.school_admin), schools.stu_a1)

    html = _html(response)
    assert ID_A1 not in html
    assert "360**************X" in html
    assert reverse("people:student-reveal-id", kwargs={"code": schools.stu_a1.code}) in html


def test_profile_masks_guardian_phone_for_district_admin(schools, client_for):
    response = _detail(client_for(schools.district_admin), schools.stu_a1)

    html = _html(response)
    assert "13800138000" not in html
    assert "138****8000" in html


def test_profile_hides_reveal_action_from_psychology_teacher(schools, client_for):
    response = _detail(client_for(schools.psych), schools.stu_a1)

    assert response.status_code == 200
    assert "reveal-id" not in _html(response)


def test_profile_view_is_audited(schools, client_for):
    _detail(client_for(schools.psych), schools.stu_a1)

    event = AuditEvent.objects.filter(action="people.student.viewed").latest("seq")
    assert (event.actor_id, event.object_id, event.actor_role) == (
        schools.psych.pk,
        str(schools.stu_a1.pk),
        "psychology_teacher",
    )
    assert "id_number_masked" in event.fields["read"]


@pytest.mark.parametrize("role", ["psych_b", "head_teacher_b"])
def test_profile_other_school_gets_404(schools, client_for, role):
    response = _detail(client_for(getattr(schools, role)), schools.stu_a1)

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="people.student.viewed").exists()


def test_profile_head_teacher_other_class_gets_404(schools, client_for):
    response = _detail(client_for(schools.head_teacher), schools.stu_a2)

    assert response.status_code == 404


def test_profile_refuses_a_parent(schools, client_for):
    # Even their own child's staff profile: the family pages show what a parent may see.
    for child in (schools.stu_a1, schools.stu_a2):
        assert _detail(client_for(schools.parent), child).status_code == 403


@pytest.mark.parametrize("role", ["committee", "auditor", "sysadmin"])
def test_profile_wrong_role_gets_403(schools, client_for, role):
    response = _detail(client_for(getattr(schools, role)), schools.stu_a1)

    assert response.status_code == 403


# --- reveal the ID number ---------------------------------------------------------------------
def _reveal(client, student, **extra):
    return client.post(reverse("people:student-reveal-id", kwargs={"code": student.code}), **extra)


def test_reveal_id_by_school_admin_is_shown_and_audited(schools, client_for):
    response = _reveal(client_for(schools.school_admin), schools.stu_a1, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert ID_A1 in _html(response)
    assert "<html" not in _html(response)
    event = AuditEvent.objects.filter(action="people.student.id_number_revealed").get()
    assert (event.actor_id, event.fields) == (schools.school_admin.pk, {"read": ["id_number"]})


def test_reveal_id_without_htmx_renders_the_profile(schools, client_for):
    response = _reveal(client_for(schools.city_admin), schools.stu_a1)

    assert response.status_code == 200
    assert ID_A1 in _html(response)
    assert "<html" in _html(response)


@pytest.mark.parametrize(
    "role", ["psych", "head_teacher", "mentor", "parent", "station_counsellor"]
)
def test_reveal_id_wrong_role_gets_403(schools, client_for, role):
    response = _reveal(client_for(getattr(schools, role)), schools.stu_a1)

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="people.student.id_number_revealed").exists()


def test_reveal_id_other_district_gets_404(schools, client_for):
    response = _reveal(client_for(schools.district_admin), schools.stu_b1)

    assert response.status_code == 404


def test_reveal_id_get_is_405(schools, client_for):
    url = reverse("people:student-reveal-id", kwargs={"code": schools.stu_a1.code})

    response = client_for(schools.school_admin).get(url)

    assert response.status_code == 405


# --- edit -------------------------------------------------------------------------------------
def _edit_url(student) -> str:
    return reverse("people:student-edit", kwargs={"code": student.code})


def _form_data(student, **changes):
    data = {
        "name": student.name,
        "gender": student.gender,
        "birth_date": student.birth_date.isoformat(),
        "status": student.status,
    }
    data.update(changes)
    return data


def test_school_admin_edits_a_student(schools, client_for):
    client = client_for(schools.school_admin)
    assert client.get(_edit_url(schools.stu_a1)).status_code == 200

    response = client.post(
        _edit_url(schools.stu_a1), _form_data(schools.stu_a1, name="王晓明", left_behind="on")
    )

    schools.stu_a1.refresh_from_db()
    assert response.status_code == 302
    assert (schools.stu_a1.name, schools.stu_a1.left_behind) == ("王晓明", True)
    event = AuditEvent.objects.filter(action="people.student.updated").latest("seq")
    assert sorted(event.fields["changed"]) == ["left_behind", "name"]


def test_edit_changes_id_number_without_logging_it(schools, client_for):
    new_id = "360102201301010028"

    response = client_for(schools.school_admin).post(
        _edit_url(schools.stu_a1), _form_data(schools.stu_a1, new_id_number=new_id)
    )

    schools.stu_a1.refresh_from_db()
    assert response.status_code == 302, response.context["form"].errors
    assert schools.stu_a1.id_number == new_id
    event = AuditEvent.objects.filter(action="people.student.updated").latest("seq")
    assert new_id not in str(event.fields)


def test_edit_invalid_id_number_error_next_to_field(schools, client_for):
    response = client_for(schools.school_admin).post(
        _edit_url(schools.stu_a1), _form_data(schools.stu_a1, new_id_number="360102201301010023")
    )

    schools.stu_a1.refresh_from_db()
    assert response.status_code == 200
    assert 'data-error-for="new_id_number"' in _html(response)
    assert schools.stu_a1.id_number == ID_A1


def test_edit_empty_name_error_next_to_field(schools, client_for):
    response = client_for(schools.school_admin).post(
        _edit_url(schools.stu_a1), _form_data(schools.stu_a1, name="")
    )

    assert response.status_code == 200
    assert 'data-error-for="name"' in _html(response)


def test_edit_error_is_in_the_users_language(schools, client_for):
    client = client_for(schools.school_admin)
    client.cookies["django_language"] = "zh-hans"

    response = client.post(
        _edit_url(schools.stu_a1), _form_data(schools.stu_a1, birth_date="not a date")
    )

    assert response.status_code == 200
    assert 'data-error-for="birth_date"' in _html(response)
    assert "输入一个有效的日期" in _html(response)  # Django's own zh-hans catalogue


@pytest.mark.parametrize("role", ["psych", "head_teacher", "station_counsellor", "parent"])
def test_edit_wrong_role_gets_403(schools, client_for, role):
    response = client_for(getattr(schools, role)).get(_edit_url(schools.stu_a1))

    assert response.status_code == 403


def test_edit_other_school_gets_404(schools, client_for):
    response = client_for(schools.school_admin).post(
        _edit_url(schools.stu_b1), _form_data(schools.stu_b1, name="x")
    )

    assert response.status_code == 404
    assert Student.objects.get(pk=schools.stu_b1.pk).name == "赵小刚"


# --- staff ------------------------------------------------------------------------------------
def _staff(client, **params):
    return client.get(reverse("people:staff-list"), params)


def _staff_names(response) -> list[str]:
    return [s.name for s in response.context["page"]]


def test_staff_list_psychology_teacher_sees_own_school_staff(schools, client_for):
    response = _staff(client_for(schools.psych))

    names = _staff_names(response)
    assert response.status_code == 200
    assert "甲校心理老师" in names
    assert "乙校心理老师" not in names
    assert "乙校心理老师" not in _html(response)


def test_staff_list_other_school_sees_nothing_of_school_a(schools, client_for):
    response = _staff(client_for(schools.psych_b))

    assert _staff_names(response) == ["乙校七1班主任", "乙校心理老师"]


def test_staff_list_filters_by_position_and_shows_qualification(schools, client_for):
    create_staff(
        actor=None,
        username="psych_full_a",
        name="甲校专职心理",
        org_unit=schools.school_a,
        qualification="心理学硕士",
        positions=[(Position.PSYCHOLOGY_TEACHER_FULL, schools.school_a)],
    )

    response = _staff(client_for(schools.school_admin), position=Position.PSYCHOLOGY_TEACHER_FULL)

    assert _staff_names(response) == ["甲校专职心理"]
    assert "心理学硕士" in _html(response)


def test_staff_list_unit_filter_is_a_picker_past_the_drop_down_limit(
    schools, client_for, monkeypatch
):
    monkeypatch.setattr("xinqiao.people.views.SELECT_LIMIT", 0)
    client = client_for(schools.city_admin)

    response = _staff(client, unit=str(schools.school_b.code))

    assert 'name="unit__q"' in _html(response)
    assert _staff_names(response) == ["乙校七1班主任", "乙校心理老师"]


def test_staff_list_psychology_ratio_hint(schools, client_for):
    response = _staff(client_for(schools.district_admin))

    rows = {r.school.pk: r for r in response.context["ratios"]}
    assert (rows[schools.school_a.pk].students, rows[schools.school_a.pk].required) == (2, 1)
    assert rows[schools.school_a.pk].short
    assert schools.school_b.pk not in rows


@pytest.mark.parametrize("role", ["head_teacher", "mentor", "parent", "auditor", "sysadmin"])
def test_staff_list_wrong_role_gets_403(schools, client_for, role):
    response = _staff(client_for(getattr(schools, role)))

    assert response.status_code == 403


def test_staff_list_query_count_does_not_grow_with_rows(schools, client_for):
    client = client_for(schools.school_admin)
    _staff(client)
    with CaptureQueriesContext(connection) as few:
        _staff(client)
    for i in range(8):
        create_staff(
            actor=None,
            username=f"t{i}",
            name=f"老师{i}",
            org_unit=schools.school_a,
            positions=[
                (Position.SUBJECT_TEACHER, schools.class_a1),
                (Position.HEAD_TEACHER, schools.class_a2),
            ],
        )

    with CaptureQueriesContext(connection) as many:
        response = _staff(client)

    assert len(response.context["page"]) > 8
    assert StaffPosition.objects.count() == 16
    assert len(many.captured_queries) == len(few.captured_queries)
