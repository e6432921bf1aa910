"""Writes of the school-organisation and family endpoints (issue 14): the committee (the pair
rule a warning in the response, the child's sign-in code once), the three groups, guardians and
family circumstances, through the pages' services. Each write: the happy path, a refusal in the
user's language, another school refused, the wrong role refused, the audit event."""

from __future__ import annotations

import json

import pytest

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.people.models import (
    CommitteeMember,
    FamilyCircumstance,
    Guardian,
    Position,
    SchoolGroupMember,
)

from ..factories import StaffFactory, StudentFactory, two_schools, with_personas

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def w(db):
    w = with_personas(
        two_schools(),
        "school_admin",
        "psych",
        "head_teacher",
        "mentor",
        "psych_b",
        "head_teacher_b",
        "parent",
    )
    w.girl_a1 = StudentFactory(school_class=w.class_a1, term=w.term, name="陈小芳", gender="F")
    w.principal_a = StaffFactory(
        org_unit=w.school_a, name="校长", positions=[(Position.PRINCIPAL, w.school_a)]
    )
    w.teacher_a = StaffFactory(org_unit=w.school_a, name="张老师")
    w.teacher_b = StaffFactory(org_unit=w.school_b, name="乙校老师")
    w.school_admin_b = StaffFactory(
        username="school_admin_b", org_unit=w.school_b, role=Role.SCHOOL_ADMIN
    ).user
    return w


def send(client, method, path, data=None, **headers):
    call = getattr(client, method)
    response = call(
        f"/api/v1{path}", json.dumps(data or {}), content_type="application/json", **headers
    )
    return response, json.loads(response.content) if response.content else None


def last_action():
    return AuditEvent.objects.order_by("-seq").values_list("action", flat=True).first()


# --- the class committee --------------------------------------------------------------------------
def test_appointing_a_boy_alone_warns_and_gives_a_sign_in_code(w, client_for):
    response, body = send(
        client_for(w.head_teacher),
        "post",
        f"/classes/{w.class_a1.code}/committee",
        {"student": str(w.stu_a1.code)},
        **ZH,
    )

    assert response.status_code == 201, body
    assert response["Cache-Control"] == "no-store"
    assert (
        body["warning"] == "初中和高中班级应设男、女心理委员各一名（目前：男生 1 名，女生 0 名）。"
    )
    assert (body["committee"]["boys"], body["committee"]["girls"]) == (1, 0)
    assert body["sign_in"]["username"].startswith("cm-")
    assert body["sign_in"]["code"]
    member = CommitteeMember.objects.get(student=w.stu_a1)
    assert RoleAssignment.objects.filter(
        user=member.student.user, role=Role.COMMITTEE_MEMBER, is_active=True
    ).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"people.committee_member.appointed", "access.invitation.issued"} <= actions


def test_the_pair_clears_the_warning_and_replacing_brings_it_back(w, client_for):
    client = client_for(w.psych)
    path = f"/classes/{w.class_a1.code}/committee"
    send(client, "post", path, {"student": str(w.stu_a1.code)})
    _response, body = send(client, "post", path, {"student": str(w.girl_a1.code)})
    assert body["warning"] is None
    girl = next(m for m in body["committee"]["members"] if m["name"] == "陈小芳")
    boy = next(m for m in body["committee"]["members"] if m["name"] == "王小明")

    response, body = send(client, "post", f"/committee-members/{boy['id']}/end", {})
    assert response.status_code == 200
    assert [m["name"] for m in body["committee"]["members"]] == ["陈小芳"]
    assert body["warning"] is not None
    assert "people.committee_member.ended" in set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    response, body = send(
        client, "post", f"/committee-members/{girl['id']}/replace", {"student": str(w.stu_a1.code)}
    )
    assert response.status_code == 200
    assert [m["name"] for m in body["committee"]["members"]] == ["王小明"]
    assert body["sign_in"]["code"]  # ending withdrew his unused slip: a new one
    assert body["warning"] is not None


def test_a_student_of_another_class_is_refused_in_chinese(w, client_for):
    response, body = send(
        client_for(w.school_admin),
        "post",
        f"/classes/{w.class_a1.code}/committee",
        {"student": str(w.stu_a2.code)},
        **ZH,
    )

    assert response.status_code == 400
    assert body == {"detail": "请选择本班学生。", "field": "student"}
    assert not CommitteeMember.objects.exists()


def test_ending_twice_is_refused(w, client_for):
    client = client_for(w.school_admin)
    send(client, "post", f"/classes/{w.class_a1.code}/committee", {"student": str(w.stu_a1.code)})
    member = CommitteeMember.objects.get()
    send(client, "post", f"/committee-members/{member.pk}/end", {})

    response, body = send(client, "post", f"/committee-members/{member.pk}/end", {}, **ZH)

    assert (response.status_code, body["detail"]) == (400, "该任职已经结束。")


def test_the_committee_of_another_school_is_404_and_a_mentor_403(w, client_for):
    data = {"student": str(w.stu_a1.code)}
    path = f"/classes/{w.class_a1.code}/committee"
    assert send(client_for(w.psych_b), "post", path, data)[0].status_code == 404
    assert send(client_for(w.head_teacher_b), "post", path, data)[0].status_code == 404
    assert send(client_for(w.mentor), "post", path, data)[0].status_code == 403
    member = CommitteeMember.objects.create(
        student=w.stu_a1,
        term=w.term,
        school_class=w.class_a1,
        school=w.school_a,
        start_date=w.term.start_date,
    )
    assert (
        send(client_for(w.psych_b), "post", f"/committee-members/{member.pk}/end")[0].status_code
        == 404
    )
    assert (
        send(client_for(w.mentor), "post", f"/committee-members/{member.pk}/end")[0].status_code
        == 403
    )
    member.refresh_from_db()
    assert member.end_date is None


# --- the three school groups ----------------------------------------------------------------------
def test_the_school_sets_its_leadership_group(w, client_for):
    data = {"members": [str(w.teacher_a.code)], "leader": str(w.principal_a.code)}

    response, body = send(
        client_for(w.school_admin), "put", f"/schools/{w.school_a.code}/groups/leadership", data
    )

    assert response.status_code == 200, body
    leadership = body[0]
    assert (leadership["kind"], leadership["gap"], leadership["members"]) == ("leadership", "", 2)
    assert last_action() == "people.school_group.updated"
    _response, body = send(
        client_for(w.school_admin),
        "put",
        f"/schools/{w.school_a.code}/groups/leadership",
        {"members": [str(w.teacher_a.code)], "leader": str(w.teacher_a.code)},
    )
    assert body[0]["gap"] == "no_principal"
    ended = SchoolGroupMember.objects.get(staff=w.principal_a)
    assert ended.end_date is not None  # ended, never deleted


def test_a_member_is_added_and_ended(w, client_for):
    client = client_for(w.school_admin)
    data = {"staff": str(w.teacher_a.code), "role": "member", "duty": "联络"}

    response, body = send(client, "post", f"/schools/{w.school_a.code}/groups/crisis/members", data)

    assert response.status_code == 201
    crisis = next(g for g in body if g["kind"] == "crisis")
    assert [(m["name"], m["duty"]) for m in crisis["member_list"]] == [("张老师", "联络")]
    assert last_action() == "people.school_group.member_added"
    pk = crisis["member_list"][0]["id"]
    response, body = send(client, "post", f"/group-members/{pk}/end", {})
    assert response.status_code == 200
    assert next(g for g in body if g["kind"] == "crisis")["gap"] == "missing"
    assert last_action() == "people.school_group.member_ended"


def test_staff_of_another_school_is_refused_in_chinese(w, client_for):
    data = {"members": [str(w.teacher_b.code)]}
    response, body = send(
        client_for(w.school_admin), "put", f"/schools/{w.school_a.code}/groups/work", data, **ZH
    )

    assert response.status_code == 400
    assert body == {"detail": "只有本校教职工可以成为成员。", "field": "staff"}
    assert not SchoolGroupMember.objects.exists()


def test_groups_of_another_school_404_and_a_psychology_teacher_403(w, client_for):
    data = {"members": [str(w.teacher_a.code)]}
    path = f"/schools/{w.school_a.code}/groups/work"
    assert send(client_for(w.school_admin_b), "put", path, data)[0].status_code == 404
    assert send(client_for(w.psych), "put", path, data)[0].status_code == 403
    add = {"staff": str(w.teacher_a.code)}
    assert send(client_for(w.school_admin_b), "post", f"{path}/members", add)[0].status_code == 404
    assert send(client_for(w.psych), "post", f"{path}/members", add)[0].status_code == 403
    assert not SchoolGroupMember.objects.exists()


# --- guardians and circumstances ------------------------------------------------------------------
def test_a_guardian_is_added_corrected_and_ended(w, client_for):
    client = client_for(w.head_teacher)
    data = {"relation": "father", "name": "王爸爸", "phone": "139 0013 9000"}

    response, body = send(client, "post", f"/students/{w.stu_a1.code}/guardians", data)

    assert response.status_code == 201, body
    father = next(g for g in body["guardians"] if g["name"] == "王爸爸")
    assert father["relation"] == "father"
    assert last_action() == "people.guardian.created"
    response, body = send(client, "patch", f"/guardians/{father['code']}", {"phone": "13700137000"})
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action="people.guardian.updated").get()
    assert event.fields["changed"] == ["phone"]
    assert "13700137000" not in str(event.fields)
    response, body = send(client, "post", f"/guardians/{father['code']}/end", {})
    assert next(g for g in body["guardians"] if g["name"] == "王爸爸")["end_date"] is not None
    assert last_action() == "people.guardian.ended"


def test_ending_a_guardianship_ends_the_parents_role(w, client_for):
    response, _body = send(
        client_for(w.school_admin), "post", f"/guardians/{w.guardian_a1.code}/end"
    )

    assert response.status_code == 200
    assert not RoleAssignment.objects.filter(
        user=w.parent, role=Role.PARENT, is_active=True
    ).exists()


def test_a_bad_phone_is_400_with_the_field(w, client_for):
    data = {"relation": "father", "name": "王爸爸", "phone": "12345"}
    response, body = send(
        client_for(w.psych), "post", f"/students/{w.stu_a1.code}/guardians", data, **ZH
    )

    assert response.status_code == 400
    assert list(body["fields"]) == ["phone"]
    assert not Guardian.objects.filter(name="王爸爸").exists()


def test_guardians_of_another_school_404_and_a_mentor_403(w, client_for):
    data = {"relation": "father", "name": "王爸爸", "phone": "13900139000"}
    path = f"/students/{w.stu_a1.code}/guardians"
    assert send(client_for(w.psych_b), "post", path, data)[0].status_code == 404
    assert send(client_for(w.mentor), "post", path, data)[0].status_code == 403
    guardian = f"/guardians/{w.guardian_a1.code}"
    assert send(client_for(w.psych_b), "patch", guardian, {"name": "x"})[0].status_code == 404
    assert send(client_for(w.mentor), "post", f"{guardian}/end")[0].status_code == 403
    assert send(client_for(w.parent), "post", f"{guardian}/end")[0].status_code == 403
    w.guardian_a1.refresh_from_db()
    assert (w.guardian_a1.name, w.guardian_a1.end_date) == ("王妈妈", None)


def test_a_circumstance_is_recorded_and_ended(w, client_for):
    client = client_for(w.head_teacher)
    data = {"kind": "left_behind", "source": "head_teacher", "start_date": "2026-09-01"}

    response, body = send(client, "post", f"/students/{w.stu_a1.code}/circumstances", data)

    assert response.status_code == 201
    assert [c["kind"] for c in body["circumstances"]] == ["left_behind"]
    w.stu_a1.refresh_from_db()
    assert w.stu_a1.left_behind is True
    assert last_action() == "people.circumstance.recorded"
    code = body["circumstances"][0]["code"]
    response, body = send(client, "post", f"/circumstances/{code}/end", {})
    assert body["circumstances"][0]["end_date"] is not None
    w.stu_a1.refresh_from_db()
    assert w.stu_a1.left_behind is False
    assert last_action() == "people.circumstance.ended"


def test_a_circumstance_twice_is_refused_in_chinese(w, client_for):
    client = client_for(w.psych)
    data = {"kind": "migrant", "source": "school"}
    send(client, "post", f"/students/{w.stu_a1.code}/circumstances", data)

    response, body = send(client, "post", f"/students/{w.stu_a1.code}/circumstances", data, **ZH)

    assert response.status_code == 400
    assert body == {"detail": "该情况已登记且尚未结束。", "field": "kind"}


def test_circumstances_of_another_school_404_and_a_mentor_403(w, client_for):
    data = {"kind": "migrant", "source": "school"}
    path = f"/students/{w.stu_a1.code}/circumstances"
    assert send(client_for(w.psych_b), "post", path, data)[0].status_code == 404
    assert send(client_for(w.mentor), "post", path, data)[0].status_code == 403
    assert not FamilyCircumstance.objects.exists()
