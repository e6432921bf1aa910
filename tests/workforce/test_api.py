"""/api/v1/workforce/…: the same scope as the pages (404 outside, 403 wrong role)."""

from __future__ import annotations

import datetime
import json

from xinqiao.workforce import services
from xinqiao.workforce.models import TrainingRecord

from .conftest import add

API = "/api/v1/workforce"


def test_training_summary_of_a_school(w, client_for):
    add(w.full, 40)
    response = client_for(w.school_admin).get(f"{API}/training/summary?year=2026")
    assert response.status_code == 200
    data = response.json()
    assert data["kind"] == "school"
    full = next(t for t in data["teachers"] if t["name"] == "专职甲")
    assert (full["category"], full["met"]) == ("full_time", True)
    assert "乙校老师" not in json.dumps(data, ensure_ascii=False)


def test_training_summary_of_the_city(w, client_for):
    add(w.teacher_b, 1)
    data = client_for(w.city_admin).get(f"{API}/training/summary?year=2026").json()
    assert data["kind"] == "city"
    assert {p["name"] for p in data["parts"]} == {"甲区", "乙区"}
    assert data["tally"]["met"] == 1


def test_summary_out_of_scope_404_and_wrong_role_403(w, client_for):
    url = f"{API}/training/summary?unit={w.school_b.code}"
    assert client_for(w.school_admin).get(url).status_code == 404
    assert client_for(w.head_teacher).get(f"{API}/training/summary").status_code == 403


def test_create_list_and_remove_training(w, client_for):
    client = client_for(w.school_admin)
    payload = {
        "course": "心理危机干预",
        "start_date": "2026-11-02",
        "hours": "6",
        "level": "district",
        "mode": "online",
    }
    response = client.post(
        f"{API}/staff/{w.full.code}/training", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 201
    code = response.json()["code"]
    listed = client.get(f"{API}/staff/{w.full.code}/training").json()
    assert [r["course"] for r in listed] == ["心理危机干预"]
    again = client.post(
        f"{API}/staff/{w.full.code}/training", json.dumps(payload), content_type="application/json"
    )
    assert again.status_code == 400
    assert client.delete(f"{API}/training/{code}").status_code == 204
    assert not TrainingRecord.objects.exists()


def test_create_for_another_school_404_and_wrong_role_403(w, client_for):
    payload = json.dumps(
        {
            "course": "x",
            "start_date": "2026-11-02",
            "hours": "1",
            "level": "school",
            "mode": "online",
        }
    )
    other = f"{API}/staff/{w.teacher_b.code}/training"
    mine = f"{API}/staff/{w.full.code}/training"
    assert (
        client_for(w.school_admin).post(other, payload, content_type="application/json").status_code
        == 404
    )
    assert (
        client_for(w.psych).post(mine, payload, content_type="application/json").status_code == 403
    )
    assert client_for(w.psych).get(mine).status_code == 200
    assert client_for(w.school_admin).get(other).status_code == 404


def test_research_and_indicator(w, client_for):
    client = client_for(w.district_admin)
    payload = {
        "district": str(w.district_a.code),
        "date": "2026-09-10",
        "theme": "区教研",
        "participants": [str(w.full.code)],
    }
    response = client.post(f"{API}/research", json.dumps(payload), content_type="application/json")
    assert response.status_code == 201
    assert response.json()["participants"] == 1
    rows = client.get(f"{API}/research/indicator?year=2026").json()
    assert [r["name"] for r in rows] == ["甲区"]
    assert rows[0]["months"][0]["state"] == "met"
    payload["district"] = str(w.district_b.code)
    refused = client.post(f"{API}/research", json.dumps(payload), content_type="application/json")
    assert refused.status_code == 404
    assert (
        client_for(w.school_admin)
        .post(f"{API}/research", json.dumps(payload), content_type="application/json")
        .status_code
        == 403
    )


def test_registries_and_experts(w, client_for):
    services.create_registry(
        actor=None,
        kind="studio",
        owner=w.district_b,
        name="乙区工作室",
        start_date=datetime.date(2026, 1, 1),
    )
    services.create_expert(actor=None, owner=w.city, name="张教授")
    assert client_for(w.district_admin).get(f"{API}/registries").json() == []
    assert [r["name"] for r in client_for(w.city_admin).get(f"{API}/registries").json()] == [
        "乙区工作室"
    ]
    assert [e["name"] for e in client_for(w.city_admin).get(f"{API}/experts").json()] == ["张教授"]
    assert client_for(w.district_admin).get(f"{API}/experts").json() == []
    assert client_for(w.head_teacher).get(f"{API}/experts").status_code == 403
