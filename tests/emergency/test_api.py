"""/api/v1/emergency/: the pages' scope (another district's team 404, a role without the
capability 403), the helplines for the signed-in user."""

from __future__ import annotations

import json


def _get(client, path):
    response = client.get(f"/api/v1/emergency{path}")
    return response.status_code, json.loads(response.content) if response.content else None


def test_teams_in_scope(em, client_for):
    status, body = _get(client_for(em.district_admin), "/teams")

    assert status == 200
    assert [t["name"] for t in body] == ["市心理危机干预工作队", "甲区心理危机干预工作队"]
    assert body[1]["members"][0]["name"] == "刘医生"
    assert "phone" not in body[1]["members"][0]


def test_team_of_another_district_is_404_and_a_mentor_403(em, client_for):
    assert _get(client_for(em.district_admin), f"/teams/{em.team_b.code}")[0] == 404
    assert _get(client_for(em.mentor), f"/teams/{em.team_a.code}")[0] == 403


def test_plans_with_versions(em, client_for):
    status, body = _get(client_for(em.psych), "/plans")

    assert status == 200
    assert [p["title"] for p in body] == ["甲区学生心理危机应急预案"]
    assert body[0]["versions"][0]["number"] == 1


def test_hotlines_for_a_parent_of_district_a(em, client_for):
    status, body = _get(client_for(em.parent), "/hotlines")

    numbers = [line["number"] for line in body]
    assert status == 200
    assert numbers[:4] == ["12355", "12356", "966525", "0791-88330120"]
    assert "0791-86000001" in numbers
    assert "0791-86000002" not in numbers
