"""Writes of /api/v1/facilities/: the room's facts, checklist answers and an evaluation's status
go through the services (audited); another school's or district's room is 404, a role without
the capability 403, a refused rule 400 in the user's language."""

from __future__ import annotations

import json

from xinqiao.audit.models import AuditEvent
from xinqiao.facilities.models import ChecklistAnswer, CounsellingRoom, RoomArea, StatusChange

BASE = "/api/v1/facilities/rooms"


def _send(client, method, path, data, **headers):
    call = getattr(client, method)
    response = call(f"{BASE}{path}", json.dumps(data), content_type="application/json", **headers)
    return response.status_code, json.loads(response.content) if response.content else None


def _last_action():
    return AuditEvent.objects.order_by("-seq").values_list("action", flat=True).first()


ROOM = {
    "location": "综合楼二楼 201",
    "area_m2": "80.5",
    "equipment": ["沙盘一套", " ", "放松椅"],
    "opening_hours": "周一至周五 16:30–17:30",
    "areas": [{"function": "individual", "count": 2, "area_m2": "12"}],
}


def test_a_station_room_is_recorded_by_the_district(fac, client_for):
    status, body = _send(client_for(fac.district_admin), "put", f"/{fac.station_a.code}", ROOM)

    assert status == 200, body
    assert (body["recorded"], body["location"], body["equipment"]) == (
        True,
        "综合楼二楼 201",
        ["沙盘一套", "放松椅"],
    )
    room = CounsellingRoom.objects.get(unit=fac.station_a)
    assert RoomArea.objects.get(room=room).count == 2
    assert _last_action() == "facilities.room.created"


def test_the_school_changes_its_room_and_keeps_areas_unless_sent(fac, client_for):
    data = {"location": "新楼 101", "area_m2": None}
    status, body = _send(client_for(fac.school_admin), "put", f"/{fac.school_a.code}", data)

    assert status == 200
    assert body["location"] == "新楼 101"
    assert {a["function"] for a in body["areas"]} == {"individual", "group"}
    assert _last_action() == "facilities.room.updated"


def test_room_validation_is_422_and_a_wrong_kind_of_unit_404(fac, client_for):
    client = client_for(fac.city_admin)
    bad = {**ROOM, "areas": [{"function": "kitchen", "count": 1}]}
    assert _send(client, "put", f"/{fac.school_a.code}", bad)[0] == 422
    assert _send(client, "put", f"/{fac.district_a.code}", ROOM)[0] == 404


def test_another_schools_room_is_404_and_a_psychology_teacher_403(fac, client_for):
    assert _send(client_for(fac.school_admin), "put", f"/{fac.school_b.code}", ROOM)[0] == 404
    assert _send(client_for(fac.district_admin), "put", f"/{fac.school_b.code}", ROOM)[0] == 404
    assert _send(client_for(fac.psych), "put", f"/{fac.school_a.code}", ROOM)[0] == 403
    assert CounsellingRoom.objects.get(unit=fac.school_b).location == "乙校一楼"


def test_a_checklist_item_is_answered(fac, client_for):
    path = f"/{fac.school_a.code}/checklist/n-group"
    status, body = _send(client_for(fac.school_admin), "put", path, {"met": True, "note": "两间"})

    assert status == 200
    assert (body["item"], body["met"], body["note"], body["has_photo"]) == (
        "n-group",
        True,
        "两间",
        False,
    )
    assert ChecklistAnswer.objects.get(room=fac.room_a, item="n-group").met is True
    assert _last_action() == "facilities.checklist.answered"


def test_an_unknown_item_is_refused_in_chinese(fac, client_for):
    path = f"/{fac.school_a.code}/checklist/no-such-item"
    status, body = _send(
        client_for(fac.school_admin), "put", path, {"met": True}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert status == 400
    assert body == {"detail": "该检查项目不存在。", "field": "item"}
    assert not ChecklistAnswer.objects.exists()


def test_the_checklist_of_another_school_404_and_a_head_teacher_403(fac, client_for):
    path = "/{}/checklist/n-group"
    assert (
        _send(client_for(fac.school_admin_b), "put", path.format(fac.school_a.code), {"met": True})[
            0
        ]
        == 404
    )
    assert (
        _send(client_for(fac.head_teacher), "put", path.format(fac.school_a.code), {"met": True})[0]
        == 403
    )
    assert not ChecklistAnswer.objects.exists()


def test_the_district_records_an_evaluation(fac, client_for):
    data = {"status": "compliant", "evaluated_on": "2026-10-01", "note": "复核通过"}
    status, body = _send(
        client_for(fac.district_admin), "post", f"/{fac.school_a.code}/evaluations", data
    )

    assert status == 201
    assert body == {"status": "compliant", "evaluated_on": "2026-10-01", "note": "复核通过"}
    fac.room_a.refresh_from_db()
    assert fac.room_a.status == "compliant"
    assert _last_action() == "facilities.room.evaluated"


def test_an_evaluation_in_the_future_is_refused(fac, client_for):
    data = {"status": "model", "evaluated_on": "2999-01-01"}
    status, body = _send(
        client_for(fac.city_admin),
        "post",
        f"/{fac.school_a.code}/evaluations",
        data,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert status == 400
    assert body == {"detail": "评估须在进行之后登记。", "field": "evaluated_on"}
    assert not StatusChange.objects.exists()


def test_a_school_cannot_evaluate_and_another_district_gets_404(fac, client_for):
    data = {"status": "model", "evaluated_on": "2026-10-01"}
    path = f"/{fac.school_a.code}/evaluations"
    assert _send(client_for(fac.school_admin), "post", path, data)[0] == 403
    assert _send(client_for(fac.district_admin_b), "post", path, data)[0] == 404
    assert not StatusChange.objects.exists()


def test_a_malformed_request_is_422_with_each_field_and_reason_in_chinese(fac, client_for):
    bad = {**ROOM, "area_m2": "八十", "areas": [{"function": "kitchen", "count": 1}]}
    del bad["location"]
    status, body = _send(
        client_for(fac.school_admin),
        "put",
        f"/{fac.school_a.code}",
        bad,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert status == 422
    reasons = {problem["field"]: problem["reason"] for problem in body["errors"]}
    assert reasons["location"] == "此项必填。"
    assert reasons["area_m2"].startswith("不是有效的数字")
    assert reasons["areas.0.function"].startswith("不是允许的值之一")
    assert body["detail"].startswith("请求无效：")
    assert not CounsellingRoom.objects.filter(unit=fac.school_a, location="综合楼二楼 201").exists()
