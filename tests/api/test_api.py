"""The JSON API reads through the same access layer as the pages."""

import json

import pytest
from django.test import Client

from xinqiao.audit.models import AuditEvent
from xinqiao.orgs.services import create_unit

from ..factories import two_schools, with_personas


@pytest.fixture
def schools(db):
    """Two schools with a student per class, 甲区's station, and the API's readers: school A's
    psychology teacher and A1's head teacher, 甲区's admin, school B's psychology teacher, and
    roles refused student data."""
    s = with_personas(
        two_schools(),
        "district_admin",
        "psych",
        "head_teacher",
        "psych_b",
        "auditor",
        "sysadmin",
        "committee",
    )
    s.station_a = create_unit(actor=None, parent=s.district_a, kind="station", name="甲区辅导站")
    return s


def get(client, path, **params):
    response = client.get(f"/api/v1{path}", params)
    return response.status_code, (json.loads(response.content) if response.content else None)


def test_anonymous_is_refused(schools):
    status, _body = get(Client(), "/students")
    assert status == 401


def test_head_teacher_lists_only_own_class(schools, client_for):
    status, body = get(client_for(schools.head_teacher), "/students")
    assert status == 200
    assert [s["name"] for s in body["results"]] == ["王小明"]
    # The 学籍号 embeds the resident ID number: masked in lists.
    assert body["results"][0]["student_number"] != schools.stu_a1.student_number
    assert body["results"][0]["student_number"] == "G360**************X"


def test_other_school_gets_404_for_a_student(schools, client_for):
    status, body = get(client_for(schools.psych_b), f"/students/{schools.stu_a1.code}")
    assert status == 404
    assert body == {"detail": "Not Found"}
    status, body = get(client_for(schools.psych_b), "/students", q="王小明")
    assert body["count"] == 0


def test_wrong_role_gets_403(schools, client_for):
    for user in (schools.auditor, schools.sysadmin, schools.committee):
        status, body = get(client_for(user), "/students")
        assert status == 403, user
        assert body == {"detail": "Forbidden"}


def test_student_detail_is_audited(schools, client_for):
    client = client_for(schools.psych)  # signing in is audited too: count after it
    before = AuditEvent.objects.count()
    status, body = get(client, f"/students/{schools.stu_a2.code}")
    assert status == 200
    assert body["name"] == "李小红"
    assert body["enrolments"] == [
        {"term": schools.term.code, "school": "甲区第一中学", "school_class": "七(2)班"}
    ]
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.object_id) == ("people.student.viewed", str(schools.stu_a2.pk))


def test_unit_filter_outside_scope_is_404(schools, client_for):
    status, _ = get(client_for(schools.psych), "/students", unit=str(schools.school_b.code))
    assert status == 404
    status, body = get(client_for(schools.psych), "/students", unit=str(schools.class_a2.code))
    assert [s["name"] for s in body["results"]] == ["李小红"]


def test_units_children_in_scope(schools, client_for):
    status, body = get(client_for(schools.district_admin), "/units")
    assert [u["name"] for u in body] == ["甲区"]
    status, body = get(
        client_for(schools.district_admin), "/units", parent=str(schools.district_a.code)
    )
    assert sorted(u["name"] for u in body) == ["甲区第一中学", "甲区辅导站"]
    status, _ = get(
        client_for(schools.district_admin), "/units", parent=str(schools.district_b.code)
    )
    assert status == 404


def test_me_lists_roles(schools, client_for):
    status, body = get(client_for(schools.head_teacher), "/me")
    assert status == 200
    assert [(r["role"], r["unit_name"]) for r in body["roles"]] == [("head_teacher", "七(1)班")]


def test_openapi_document_is_served_and_docs_page_is_not(schools, client_for):
    client = client_for(schools.psych)
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/students" in json.loads(schema.content)["paths"]
    assert client.get("/api/v1/docs").status_code == 404


@pytest.mark.parametrize(("page", "expected"), [("0", 200), ("999", 200), ("abc", 422)])
def test_page_parameter(schools, client_for, page, expected):
    # Out-of-range pages clamp to the nearest page; a non-number is a validation error.
    status, body = get(client_for(schools.psych), "/students", page=page)
    assert status == expected
    if expected == 200:
        assert body["count"] == 2
