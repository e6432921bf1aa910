"""/api/v1/facilities/: rooms in scope with status counts; another school's room 404, a role
without the capability 403."""

from __future__ import annotations

import json
from decimal import Decimal

from xinqiao.facilities import services

from .test_rooms import fac  # noqa: F401  (the fixture)


def _get(client, path, **params):
    response = client.get(f"/api/v1/facilities{path}", params)
    return response.status_code, json.loads(response.content) if response.content else None


def test_rooms_of_a_district(fac, client_for):  # noqa: F811
    status, body = _get(client_for(fac.district_admin), "/rooms")

    assert status == 200
    assert body["counts"]["total"] == 2
    assert {r["unit"] for r in body["results"]} == {"甲区辅导站", fac.school_a.name}


def test_the_list_gives_the_area_as_the_room_does(fac, client_for):  # noqa: F811
    services.save_room(actor=None, unit=fac.school_a, location="综合楼", area_m2=Decimal("96"))
    client = client_for(fac.district_admin)
    _status, listed = _get(client, "/rooms")
    _status, room = _get(client, f"/rooms/{fac.school_a.code}")
    [row] = [r for r in listed["results"] if r["unit_code"] == str(fac.school_a.code)]
    assert row["area_m2"] == room["area_m2"] == "96.0"


def test_room_detail_and_checklist(fac, client_for):  # noqa: F811
    services.answer_item(actor=fac.school_admin, room=fac.room_a, item="n-group", met=True)

    status, body = _get(client_for(fac.psych), f"/rooms/{fac.school_a.code}")

    assert status == 200
    assert body["area_m2"] == str(Decimal("120.0")) or body["area_m2"] == 120.0
    assert {a["function"] for a in body["areas"]} == {"individual", "group"}
    answered = [c for c in body["checklist"] if c["met"] is not None]
    assert [c["item"] for c in answered] == ["n-group"]


def test_room_of_another_school_404_and_head_teacher_403(fac, client_for):  # noqa: F811
    assert _get(client_for(fac.psych), f"/rooms/{fac.school_b.code}")[0] == 404
    assert _get(client_for(fac.head_teacher), "/rooms")[0] == 403
