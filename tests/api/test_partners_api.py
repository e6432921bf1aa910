"""/api/v1/partners/: hospital areas, the de-identified referral summary (the page's figures),
the psychiatrist's plan advice and a department account's aggregates, through the pages'
selectors and services. An expert or a department officer reaches no endpoint that names a
child: every GET of the API is walked as each of them."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import Referral
from xinqiao.partners import services
from xinqiao.partners.models import HospitalArea, PlanAdvice

from ..conftest import _user
from ..factories import StaffFactory, StudentFactory

BASE = "/api/v1/partners"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
NAMES = ("王小明", "李小红", "赵小刚")


def send(client, method, path, data=None, **headers):
    if method == "get":
        response = client.get(f"{BASE}{path}", **headers)
    else:
        response = getattr(client, method)(
            f"{BASE}{path}", json.dumps(data or {}), content_type="application/json", **headers
        )
    return response.status_code, json.loads(response.content) if response.content else None


def last_action():
    return AuditEvent.objects.order_by("-seq").values_list("action", flat=True).first()


# --- hospital areas -------------------------------------------------------------------------------
def test_the_station_sees_areas_and_the_schools_served(world, client_for):
    status, body = send(client_for(world.station_counsellor), "get", "/hospital-areas")

    assert status == 200
    assert [(a["hospital_name"], a["area_name"], a["psychiatrist"]) for a in body["areas"]] == [
        ("市精神卫生中心", "甲区", "psychiatrist")
    ]
    assert body["served"] == [
        {
            "hospital_name": "市精神卫生中心",
            "psychiatrist_name": "精神科医生",
            "schools": ["甲区第一中学"],
        }
    ]


def test_the_district_assigns_and_ends_an_area(world, client_for):
    client = client_for(world.district_admin)
    data = {
        "hospital": str(world.hospital.code),
        "area": str(world.school_a.code),
        "psychiatrist": "psychiatrist",
        "started_on": "2026-09-01",
    }

    status, body = send(client, "post", "/hospital-areas", data)

    assert status == 201, body
    assert (body["area_name"], body["psychiatrist_name"]) == ("甲区第一中学", "精神科医生")
    assert last_action() == "partners.hospital_area.assigned"
    status, body = send(client, "post", f"/hospital-areas/{body['code']}/end", {})
    assert (status, body["ended_on"]) == (200, timezone.localdate().isoformat())
    assert last_action() == "partners.hospital_area.ended"


def test_an_assignment_that_already_holds_is_refused_in_chinese(world, client_for):
    data = {
        "hospital": str(world.hospital.code),
        "area": str(world.district_a.code),
        "psychiatrist": "psychiatrist",
    }
    status, body = send(client_for(world.district_admin), "post", "/hospital-areas", data, **ZH)

    assert status == 400
    assert body == {"detail": "该指定仍然有效：请先结束。"}
    assert HospitalArea.objects.count() == 1


def test_another_districts_area_is_404_and_the_station_403(world, client_for):
    data = {"hospital": str(world.hospital.code), "area": str(world.school_b.code)}
    assert send(client_for(world.district_admin), "post", "/hospital-areas", data)[0] == 404
    row = services.assign_hospital_area(actor=None, hospital=world.hospital, area=world.district_b)
    path = f"/hospital-areas/{row.code}/end"
    assert send(client_for(world.district_admin), "post", path)[0] == 404
    mine = {"hospital": str(world.hospital.code), "area": str(world.school_a.code)}
    assert send(client_for(world.station_counsellor), "post", "/hospital-areas", mine)[0] == 403
    assert send(client_for(world.psych), "get", "/hospital-areas")[0] == 403
    assert not HospitalArea.objects.filter(area=world.school_a).exists()
    row.refresh_from_db()
    assert row.ended_on is None


# --- the referral summary -------------------------------------------------------------------------
def test_the_summary_has_the_pages_figures_and_no_name(world, client_for):
    now = timezone.now()
    for i in range(6):
        Referral.objects.create(
            case=world.case_a2,
            student=world.stu_a2,
            hospital=world.hospital,
            reason="x",
            consent_basis="guardian_consent",
            sent_by=world.psych,
            sent_at=now,
            seen_at=now + datetime.timedelta(days=2),
            status="seen",
            client_key=f"summary-{i}",
        )
    client = client_for(world.district_admin)
    page = client.get(reverse("partners:referral-summary")).context["summaries"][0]

    response = client.get(f"{BASE}/referral-summary")

    assert response.status_code == 200
    body = response.json()
    for name in NAMES:
        assert name not in response.content.decode()
    assert body[0]["area_name"] == "甲区"
    columns = ["waiting", "seen", "feedback", "cancelled", "total", "median_days"]
    assert [[r[c] for c in columns] for r in body[0]["rows"]] == [
        [r[c] for c in columns] for r in page.rows
    ]
    assert body[0]["rows"][-1]["month"] is None
    assert body[0]["rows"][-1]["total"] == 7


def test_another_districts_summary_does_not_count_a_and_a_teacher_is_403(world, client_for):
    admin_b = _user("district_admin_b", "乙区管理员", world.district_b, Role.DISTRICT_ADMIN)
    status, body = send(client_for(admin_b), "get", "/referral-summary")
    assert (status, body[0]["rows"][-1]["total"]) == (200, 0)
    assert send(client_for(world.psych), "get", "/referral-summary")[0] == 403


# --- the psychiatrist's plan advice ---------------------------------------------------------------
def test_the_psychiatrist_adds_and_reads_advice(world, client_for):
    client = client_for(world.psychiatrist)
    review = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    path = f"/referrals/{world.referral_a2.code}/advice"

    status, body = send(client, "post", path, {"advice": "建议每周辅导一次", "review_on": review})

    assert status == 201
    assert (body["advice"], body["review_on"], body["author"]) == (
        "建议每周辅导一次",
        review,
        "精神科医生",
    )
    assert PlanAdvice.objects.get().case == world.case_a2
    event = AuditEvent.objects.filter(action="partners.plan_advice.added").get()
    assert "advice" not in event.fields
    status, body = send(client, "get", path)
    assert [a["advice"] for a in body] == ["建议每周辅导一次"]
    assert last_action() == "partners.plan_advice.viewed"


def test_a_review_date_in_the_past_is_refused_in_chinese(world, client_for):
    data = {"advice": "x", "review_on": "2020-01-01"}
    path = f"/referrals/{world.referral_a2.code}/advice"
    status, body = send(client_for(world.psychiatrist), "post", path, data, **ZH)

    assert status == 400
    assert body == {"detail": "复查日期不能早于今天。", "field": "review_on"}
    assert not PlanAdvice.objects.exists()


def test_another_psychiatrists_referral_is_404_and_a_teacher_403(world, client_for):
    other = StaffFactory(role=Role.PSYCHIATRIST, org_unit=world.hospital).user
    data = {"advice": "x", "review_on": (timezone.localdate()).isoformat()}
    path = f"/referrals/{world.referral_a2.code}/advice"
    assert send(client_for(other), "post", path, data)[0] == 404
    assert send(client_for(other), "get", path)[0] == 404
    assert send(client_for(world.psych), "post", path, data)[0] == 403
    assert not PlanAdvice.objects.exists()


# --- department accounts: aggregates only ---------------------------------------------------------
def test_the_civil_affairs_officer_gets_counts_and_never_a_name(world, client_for):
    many = [StudentFactory(school_class=world.class_a1, term=world.term) for _ in range(6)]
    for student in [*many, world.stu_a1, world.stu_b1]:
        type(student).objects.filter(pk=student.pk).update(orphan_or_unsupported=True)
    page = client_for(world.department_officer).get(reverse("partners:department-home"))

    response = client_for(world.department_officer).get(f"{BASE}/department-figures")

    assert response.status_code == 200
    text = response.content.decode()
    for name in (*NAMES, *(s.name for s in many)):
        assert name not in text
    area = response.json()[0]
    assert (area["area_name"], area["departments"]) == ("甲区", ["civil_affairs"])
    assert area["circumstances"][-1]["total"] == 7
    assert area["students"][-1]["students"] == 8
    assert area["cases"] == page.context["areas"][0].cases


def test_department_figures_are_403_for_staff_and_experts(world, client_for):
    for user in (world.city_admin, world.psych, world.expert):
        assert send(client_for(user), "get", "/department-figures")[0] == 403


# --- an expert or a department officer never reaches a named child --------------------------------
def _path_values(world):
    return {
        "code": [
            world.stu_a1.code,
            world.stu_a2.code,
            world.case_a2.code,
            world.referral_a2.code,
            world.class_a1.code,
            world.school_a.code,
            world.guardian_a1.code,
        ],
        "pk": [1],
        "kind": ["crisis"],
        "item": ["n-group"],
    }


@pytest.mark.parametrize("who", ["expert", "department_officer"])
def test_no_endpoint_names_a_child_to_an_expert_or_a_department_officer(world, client_for, who):
    client = client_for(getattr(world, who))
    schema = client.get("/api/v1/openapi.json").json()
    values = _path_values(world)
    requested = 0
    for path, operations in schema["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        candidates = [path]
        for name in names:
            candidates = [
                c.replace(f"{{{name}}}", str(v)) for c in candidates for v in values[name]
            ]
        for url in candidates:
            for method in operations:
                if method == "get":
                    response = client.get(url)
                else:
                    response = getattr(client, method)(url, "{}", content_type="application/json")
                requested += 1
                text = response.content.decode()
                for name in NAMES:
                    assert name not in text, (who, method, url)
                if method != "get":
                    assert response.status_code >= 400, (who, method, url)
    assert requested > 100
    assert not PlanAdvice.objects.exists()
    assert HospitalArea.objects.count() == 1
