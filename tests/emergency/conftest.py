"""The emergency tests' world: the shared `world` plus a district B administrator, a city team,
district A's team with a member, a plan of district A with a version, and a district A line."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from xinqiao.access.roles import Role
from xinqiao.emergency import services

from ..conftest import _user

PDF = b"%PDF-1.4\n% plan\n"


def pdf(name: str = "预案.pdf", body: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


@pytest.fixture
def em(world):
    w = world
    w.district_admin_b = _user("district_admin_b", "乙区管理员", w.district_b, Role.DISTRICT_ADMIN)
    w.city_team = services.create_team(
        actor=w.city_admin, unit=w.city, name="市心理危机干预工作队", duty_phone="0791-88000001"
    )
    w.team_a = services.create_team(
        actor=w.district_admin,
        unit=w.district_a,
        name="甲区心理危机干预工作队",
        duty_phone="0791-88000002",
    )
    w.member_a = services.add_member(
        actor=w.district_admin,
        team=w.team_a,
        role="member",
        started_on=datetime.date(2026, 9, 1),
        name="刘医生",
        organisation="市第三医院",
        phone="13900139000",
    )
    w.team_b = services.create_team(
        actor=w.district_admin_b,
        unit=w.district_b,
        name="乙区心理危机干预工作队",
        duty_phone="0791-88000003",
    )
    w.plan_a = services.create_plan(
        actor=w.district_admin,
        unit=w.district_a,
        title="甲区学生心理危机应急预案",
        kind="crisis",
        document=pdf(),
        effective_on=datetime.date(2026, 9, 1),
    )
    w.plan_b = services.create_plan(
        actor=w.district_admin_b,
        unit=w.district_b,
        title="乙区应急预案",
        kind="public_emergency",
        document=pdf(),
        effective_on=datetime.date(2026, 9, 1),
    )
    w.line_a = services.add_hotline(
        actor=w.district_admin, unit=w.district_a, name="甲区心理辅导站热线", number="0791-86000001"
    )
    w.line_b = services.add_hotline(
        actor=w.district_admin_b,
        unit=w.district_b,
        name="乙区心理辅导站热线",
        number="0791-86000002",
    )
    return w
