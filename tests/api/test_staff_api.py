"""The staff registry in the JSON API: scoped like the pages (404 outside, 403 wrong role)."""

from __future__ import annotations

import json

from xinqiao.people.models import Position, Staff
from xinqiao.people.staffing import services

BASE = "/api/v1/staff"


def post(client, path, data):
    return client.post(path, json.dumps(data), content_type="application/json")


def test_list_create_update_end_and_leave(world, client_for):
    client = client_for(world.school_admin)
    created = post(
        client,
        BASE,
        {
            "name": "吴老师",
            "unit": str(world.school_a.code),
            "position": Position.PSYCHOLOGY_TEACHER_FULL,
            "phone": "13900002222",
        },
    )
    assert created.status_code == 201, created.content
    code = created.json()["code"]
    assert created.json()["has_account"] is False
    listed = client.get(BASE, {"q": "吴"}).json()
    assert [s["code"] for s in listed["results"]] == [code]
    patched = client.patch(
        f"{BASE}/{code}", json.dumps({"staff_number": "W7"}), content_type="application/json"
    )
    assert patched.json()["staff_number"] == "W7"
    post_id = patched.json()["positions"][0]["id"]
    ended = post(client, f"{BASE}/{code}/positions/{post_id}/end", {"end_date": None})
    assert ended.json()["positions"][0]["end_date"] is not None
    added = post(client, f"{BASE}/{code}/positions", {"position": "mentor"})
    assert added.status_code == 201
    left = post(client, f"{BASE}/{code}/leave", {})
    assert left.json()["employment_status"] == "left"
    assert post(client, f"{BASE}/{code}/leave", {}).status_code == 400


def test_other_district_is_404_and_wrong_role_403(world, client_for):
    other = services.create_staff_record(actor=None, name="郑老师", org_unit=world.school_b)
    admin = client_for(world.school_admin)
    assert admin.get(f"{BASE}/{other.code}").status_code == 404
    assert (
        admin.patch(
            f"{BASE}/{other.code}", json.dumps({"name": "x"}), content_type="application/json"
        ).status_code
        == 404
    )
    assert post(admin, BASE, {"name": "x", "unit": str(world.school_b.code)}).status_code == 404
    psych = client_for(world.psych)
    mine = services.create_staff_record(actor=None, name="冯老师", org_unit=world.school_a)
    assert psych.get(f"{BASE}/{mine.code}").status_code == 200
    assert post(psych, BASE, {"name": "x", "unit": str(world.school_a.code)}).status_code == 403
    assert client_for(world.head_teacher).get(BASE).status_code == 403
    assert not Staff.objects.filter(name="x").exists()
