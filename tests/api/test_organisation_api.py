"""The school-organisation and family endpoints (issue 14) read through the access layer."""

from __future__ import annotations

import json

import pytest

from xinqiao.people import services
from xinqiao.people.models import Position

from ..factories import StaffFactory, two_schools, with_personas


@pytest.fixture
def w(db):
    w = with_personas(two_schools(), "psych", "psych_b", "mentor", "committee", "parent")
    principal = StaffFactory(org_unit=w.school_a, positions=[(Position.PRINCIPAL, w.school_a)])
    services.add_group_member(
        actor=None, school=w.school_a, kind="leadership", staff=principal, role="leader"
    )
    services.record_circumstance(actor=None, student=w.stu_a1, kind="left_behind", source="school")
    return w


def get(client, path):
    response = client.get(f"/api/v1{path}")
    return response.status_code, json.loads(response.content)


def test_school_groups_show_gaps_and_members(w, client_for):
    status, body = get(client_for(w.psych), f"/schools/{w.school_a.code}/groups")

    assert status == 200
    assert [(g["kind"], g["gap"], g["members"]) for g in body] == [
        ("leadership", "", 1),
        ("work", "missing", 0),
        ("crisis", "missing", 0),
    ]


def test_group_gaps_of_a_district(w, client_for):
    w = with_personas(w, "district_admin")

    status, body = get(client_for(w.district_admin), f"/units/{w.district_a.code}/group-gaps")

    assert status == 200
    assert [(s["school_name"], s["gaps"]) for s in body] == [("甲区第一中学", ["work", "crisis"])]


def test_another_schools_groups_are_404(w, client_for):
    status, _body = get(client_for(w.psych_b), f"/schools/{w.school_a.code}/groups")

    assert status == 404


def test_a_committee_member_is_refused_the_groups(w, client_for):
    status, _body = get(client_for(w.committee), f"/schools/{w.school_a.code}/groups")

    assert status == 403


def test_class_committee_counts(w, client_for):
    services.appoint_committee_member(actor=None, student=w.stu_a1, term=w.term)

    status, body = get(client_for(w.mentor), f"/classes/{w.class_a1.code}/committee")

    assert status == 200
    assert (body["boys"], body["girls"], body["pair_missing"]) == (1, 0, True)
    assert [m["name"] for m in body["members"]] == ["王小明"]


def test_student_family_masks_the_phone_for_a_mentor(w, client_for):
    status, body = get(client_for(w.mentor), f"/students/{w.stu_a1.code}/family")

    assert status == 200
    assert body["guardians"][0]["phone"] == "138****8000"
    assert [c["kind"] for c in body["circumstances"]] == ["left_behind"]


def test_student_family_of_another_school_is_404(w, client_for):
    status, _body = get(client_for(w.psych_b), f"/students/{w.stu_a1.code}/family")

    assert status == 404


def test_a_parent_is_refused_the_staff_family_endpoint(w, client_for):
    status, _body = get(client_for(w.parent), f"/students/{w.stu_a1.code}/family")

    assert status == 403
