"""Writes of /api/v1/emergency/: crisis teams and members, plans, drills and the helpline
directory through the services (audited), as the pages allow them: a district keeps its own
(another district's rows are 404, the city's 403), a role without the capability 403, a refused
rule 400 in the user's language."""

from __future__ import annotations

import json

from xinqiao.audit.models import AuditEvent
from xinqiao.emergency.models import CrisisTeam, Drill, EmergencyPlan, Hotline, TeamMember

from ..emergency.conftest import pdf

BASE = "/api/v1/emergency"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _send(client, method, path, data=None, **headers):
    call = getattr(client, method)
    if method == "get":
        response = call(f"{BASE}{path}", **headers)
        return response.status_code, json.loads(response.content)
    response = call(
        f"{BASE}{path}", json.dumps(data or {}), content_type="application/json", **headers
    )
    return response.status_code, json.loads(response.content) if response.content else None


def _last_action():
    return AuditEvent.objects.order_by("-seq").values_list("action", flat=True).first()


# --- teams ----------------------------------------------------------------------------------------
def test_a_district_sets_up_and_changes_its_team(em, client_for):
    CrisisTeam.objects.filter(pk=em.team_a.pk).update(unit=em.district_b)  # 甲区 has no team now
    client = client_for(em.district_admin)
    data = {
        "unit": str(em.district_a.code),
        "name": "甲区危机干预队",
        "duty_phone": "0791-88000009",
    }

    status, body = _send(client, "post", "/teams", data)

    assert status == 201, body
    assert (body["name"], body["unit"], body["members"]) == ("甲区危机干预队", "甲区", [])
    assert _last_action() == "emergency.team.created"
    status, body = _send(
        client,
        "put",
        f"/teams/{body['code']}",
        {"name": "甲区工作队", "duty_phone": "0791-88000010"},
    )
    assert (status, body["name"], body["duty_phone"]) == (200, "甲区工作队", "0791-88000010")
    assert _last_action() == "emergency.team.updated"


def test_a_team_with_a_bad_phone_is_400(em, client_for):
    data = {"unit": str(em.district_a.code), "name": "甲区", "duty_phone": "abc"}
    status, body = _send(client_for(em.district_admin), "post", "/teams", data)

    assert status == 400
    assert "duty_phone" in body["fields"]


def test_teams_of_another_district_404_the_citys_403_and_a_school_403(em, client_for):
    district_a = client_for(em.district_admin)
    change = {"name": "x", "duty_phone": "0791-88000011"}
    assert _send(district_a, "put", f"/teams/{em.team_b.code}", change)[0] == 404
    assert _send(district_a, "put", f"/teams/{em.city_team.code}", change)[0] == 403
    new = {"unit": str(em.district_b.code), "name": "x", "duty_phone": "0791-88000011"}
    assert _send(district_a, "post", "/teams", new)[0] == 404
    new_a = {**new, "unit": str(em.district_a.code)}
    assert _send(client_for(em.psych), "post", "/teams", new_a)[0] == 403
    assert _send(client_for(em.school_admin), "post", "/teams", new_a)[0] == 404
    assert not CrisisTeam.objects.filter(name="x").exists()


def test_members_are_added_and_ended(em, client_for):
    client = client_for(em.district_admin)
    data = {
        "role": "counsellor",
        "started_on": "2026-09-15",
        "name": "陈老师",
        "phone": "13900001111",
    }

    status, body = _send(client, "post", f"/teams/{em.team_a.code}/members", data)

    assert status == 201
    assert sorted(m["name"] for m in body["members"]) == ["刘医生", "陈老师"]
    assert "phone" not in body["members"][0]
    assert _last_action() == "emergency.member.added"
    status, body = _send(
        client, "post", f"/members/{em.member_a.code}/end", {"ended_on": "2026-10-01"}
    )
    assert [m["name"] for m in body["members"]] == ["陈老师"]
    assert _last_action() == "emergency.member.ended"


def test_a_member_without_a_name_is_refused_in_chinese(em, client_for):
    data = {"role": "member", "started_on": "2026-09-15"}
    status, body = _send(
        client_for(em.district_admin), "post", f"/teams/{em.team_a.code}/members", data, **ZH
    )

    assert status == 400
    assert body == {"detail": "请选择一名教职工，或填写人员姓名。", "field": "name"}
    status, body = _send(
        client_for(em.district_admin),
        "post",
        f"/members/{em.member_a.code}/end",
        {"ended_on": "2026-01-01"},
        **ZH,
    )
    assert (status, body["detail"]) == (400, "结束日期早于开始日期。")


def test_members_of_another_districts_team_404_and_a_mentor_403(em, client_for):
    data = {"role": "member", "started_on": "2026-09-15", "name": "x"}
    assert (
        _send(client_for(em.district_admin_b), "post", f"/teams/{em.team_a.code}/members", data)[0]
        == 404
    )
    assert (
        _send(
            client_for(em.district_admin_b),
            "post",
            f"/members/{em.member_a.code}/end",
            {"ended_on": "2026-10-01"},
        )[0]
        == 404
    )
    assert _send(client_for(em.mentor), "post", f"/teams/{em.team_a.code}/members", data)[0] == 403
    assert not TeamMember.objects.filter(name="x").exists()
    assert TeamMember.objects.get(pk=em.member_a.pk).ended_on is None


# --- plans and drills -----------------------------------------------------------------------------
def _plan_form(unit, **extra):
    return {
        "unit": str(unit.code),
        "title": "甲校心理危机预案",
        "kind": "crisis",
        "effective_on": "2026-09-01",
        "document": pdf(),
        **extra,
    }


def test_a_school_adds_its_plan(em, client_for):
    response = client_for(em.school_admin).post(f"{BASE}/plans", _plan_form(em.school_a))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["unit"], body["versions"][0]["number"]) == (
        "甲校心理危机预案",
        "甲区第一中学",
        1,
    )
    assert _last_action() == "emergency.plan.version_added"
    assert AuditEvent.objects.filter(action="emergency.plan.created").count() == 3


def test_a_plan_that_is_not_a_document_is_refused_in_chinese(em, client_for):
    form = _plan_form(em.school_a, document=pdf("x.pdf", b"not a pdf"))
    response = client_for(em.school_admin).post(f"{BASE}/plans", form, **ZH)

    assert response.status_code == 400
    assert response.json() == {"detail": "请上传 PDF 或 Word 文件。", "field": "document"}
    assert not EmergencyPlan.objects.filter(title="甲校心理危机预案").exists()


def test_plans_for_another_school_404_and_a_psychology_teacher_403(em, client_for):
    assert (
        client_for(em.school_admin).post(f"{BASE}/plans", _plan_form(em.school_b)).status_code
        == 404
    )
    assert (
        client_for(em.district_admin).post(f"{BASE}/plans", _plan_form(em.district_b)).status_code
        == 404
    )
    assert (
        client_for(em.district_admin).post(f"{BASE}/plans", _plan_form(em.city)).status_code == 404
    )
    assert client_for(em.psych).post(f"{BASE}/plans", _plan_form(em.school_a)).status_code == 403
    assert not EmergencyPlan.objects.filter(title="甲校心理危机预案").exists()


def test_drills_are_recorded_and_listed(em, client_for):
    client = client_for(em.district_admin)
    data = {
        "unit": str(em.district_a.code),
        "plan": str(em.plan_a.code),
        "held_on": "2026-10-10",
        "scenario": "学生危机事件桌面推演",
        "participant_count": 12,
    }

    status, body = _send(client, "post", "/drills", data)

    assert status == 201
    assert (body["plan"], body["participant_count"]) == (str(em.plan_a.code), 12)
    assert _last_action() == "emergency.drill.recorded"
    status, listed = _send(client_for(em.psych), "get", "/drills")
    assert [d["scenario"] for d in listed] == ["学生危机事件桌面推演"]
    assert _send(client_for(em.district_admin_b), "get", "/drills")[1] == []
    assert _send(client_for(em.district_admin_b), "get", f"/drills?plan={em.plan_a.code}")[0] == 404


def test_a_drill_in_the_future_is_refused_in_chinese(em, client_for):
    data = {"unit": str(em.district_a.code), "held_on": "2999-01-01", "scenario": "演练"}
    status, body = _send(client_for(em.district_admin), "post", "/drills", data, **ZH)

    assert status == 400
    assert body == {"detail": "演练须在举行之后登记。", "field": "held_on"}


def test_drills_of_another_district_404_and_a_mentor_403(em, client_for):
    data = {"unit": str(em.district_a.code), "held_on": "2026-10-10", "scenario": "演练"}
    assert _send(client_for(em.district_admin_b), "post", "/drills", data)[0] == 404
    other_plan = {**data, "plan": str(em.plan_b.code)}
    assert _send(client_for(em.district_admin), "post", "/drills", other_plan)[0] == 404
    assert _send(client_for(em.mentor), "post", "/drills", data)[0] == 403
    assert _send(client_for(em.mentor), "get", "/drills")[0] == 403
    assert not Drill.objects.exists()


# --- the helpline directory -----------------------------------------------------------------------
def test_a_district_adds_changes_and_retires_its_line(em, client_for):
    client = client_for(em.district_admin)
    data = {
        "unit": str(em.district_a.code),
        "name": "甲区夜间热线",
        "number": "0791-86000009",
        "hours": "20:00–8:00",
    }

    status, body = _send(client, "post", "/helplines", data)

    assert status == 201
    assert (body["unit"], body["in_service"], body["editable"]) == ("甲区", True, True)
    assert _last_action() == "emergency.hotline.added"
    code = body["code"]
    status, body = _send(client, "patch", f"/helplines/{code}", {"hours": "24 小时"})
    assert (status, body["hours"], body["name"]) == (200, "24 小时", "甲区夜间热线")
    assert _last_action() == "emergency.hotline.updated"
    status, body = _send(client, "post", f"/helplines/{code}/active", {"in_service": False})
    assert (status, body["in_service"]) == (200, False)
    assert _last_action() == "emergency.hotline.deactivated"
    status, body = _send(client, "post", f"/helplines/{code}/active", {"in_service": True})
    assert _last_action() == "emergency.hotline.activated"
    listed = _send(client, "get", "/helplines")[1]
    assert {line["number"] for line in listed if line["editable"]} == {
        "0791-86000001",
        "0791-86000009",
    }


def test_a_number_listed_twice_is_refused_in_chinese(em, client_for):
    data = {"unit": str(em.district_a.code), "name": "重复", "number": "0791-86000001"}
    status, body = _send(client_for(em.district_admin), "post", "/helplines", data, **ZH)

    assert status == 400
    assert body == {"detail": "该号码已在本单位的热线中。", "field": "number"}


def test_lines_of_another_district_404_and_a_school_admin_403(em, client_for):
    district_b = client_for(em.district_admin_b)
    assert _send(district_b, "patch", f"/helplines/{em.line_a.code}", {"name": "x"})[0] == 404
    assert (
        _send(district_b, "post", f"/helplines/{em.line_a.code}/active", {"in_service": False})[0]
        == 404
    )
    new = {"unit": str(em.district_a.code), "name": "x", "number": "0791-86000099"}
    assert _send(district_b, "post", "/helplines", new)[0] == 404
    school = client_for(em.school_admin)
    assert _send(school, "post", "/helplines", new)[0] == 403
    assert _send(school, "get", "/helplines")[0] == 403
    em.line_a.refresh_from_db()
    assert (em.line_a.name, em.line_a.is_active) == ("甲区心理辅导站热线", True)
    assert not Hotline.objects.filter(name="x").exists()


def test_the_city_edits_a_districts_line(em, client_for):
    status, body = _send(
        client_for(em.city_admin), "patch", f"/helplines/{em.line_b.code}", {"order": 5}
    )

    assert (status, body["order"]) == (200, 5)


def test_the_city_adds_a_city_line_a_district_may_not_change(em, client_for):
    data = {"unit": str(em.city.code), "name": "市青少年心理热线", "number": "0791-12355000"}
    status, body = _send(client_for(em.city_admin), "post", "/helplines", data)

    assert (status, body["unit"], body["editable"]) == (201, None, True)
    assert Hotline.objects.get(code=body["code"]).unit is None
    district = client_for(em.district_admin)
    assert _send(district, "patch", f"/helplines/{body['code']}", {"name": "x"})[0] == 403
    assert _send(district, "post", "/helplines", data)[0] == 404
    listed = {line["code"]: line for line in _send(district, "get", "/helplines")[1]}
    assert listed[body["code"]]["editable"] is False
