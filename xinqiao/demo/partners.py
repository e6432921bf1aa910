"""The demo city's partners (issue 14, docs/partners.md): a civil-affairs (民政) officer of 明湖区
and a health-commission (卫健) officer of the city, an expert of the city's pool invited to one
open case of 明湖区育才中学, and the two partner hospitals' areas (片区): the mental-health centre
and its first psychiatrist serve 明湖区 and 云山区, the third people's hospital 桂溪县.

Everything goes through the partners services, so the accounts, posts, grant and areas carry
their audit events like any other. Deterministic: no randomness here."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role
from xinqiao.cases.models import Case
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.partners import services

from .generator import DEMO_PASSWORD

DEPARTMENT_OFFICERS = [
    ("demo_civil_affairs_mh", "明湖区民政局联络员", "civil_affairs", "明湖区"),
    ("demo_health_city", "市卫健委联络员", "health", None),
]
EXPERT = ("demo_expert", "陈教授（专家库）")
AREAS = [  # (hospital index in HOSPITALS order, district name, with its first psychiatrist)
    (0, "明湖区", True),
    (0, "云山区", False),
    (1, "桂溪县", True),
]


def _user(username: str, name: str) -> Any:
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model.objects.create(
            username=username, first_name=name, password=make_password(DEMO_PASSWORD)
        )
    return user


def seed_demo_partners() -> dict[str, int]:
    city = OrgUnit.objects.get(kind=Kind.CITY, parent__isnull=True)
    counts = {"department_accounts": 0, "hospital_areas": 0, "expert_grants": 0}
    for username, name, department, district in DEPARTMENT_OFFICERS:
        unit = OrgUnit.objects.get(kind=Kind.DISTRICT, name=district) if district else city
        services.give_department_post(
            actor=None, user=_user(username, name), department=department, org_unit=unit
        )
        counts["department_accounts"] += 1
    expert = _user(*EXPERT)
    assign_role(actor=None, user=expert, role=Role.EXPERT, org_unit=city)
    # The account belongs to a member of the city's expert pool (case grants pick from the pool).
    from xinqiao.workforce.models import Expert
    from xinqiao.workforce.services import create_expert

    if not Expert.objects.filter(user=expert).exists():
        create_expert(
            actor=None,
            owner=city,
            name=EXPERT[1].split("（")[0],
            affiliation="示例市师范大学心理学院",
            expertise="青少年危机干预、个案督导",
            user=expert,
        )
    hospitals = list(OrgUnit.objects.filter(kind=Kind.HOSPITAL, parent=city).order_by("sort_order"))
    start = timezone.localdate() - datetime.timedelta(days=60)
    for index, district_name, with_psychiatrist in AREAS:
        hospital = hospitals[index]
        psychiatrist = None
        if with_psychiatrist:
            held = (
                RoleAssignment.objects.active()
                .filter(role=Role.PSYCHIATRIST, org_unit=hospital)
                .order_by("user__username")
                .first()
            )
            psychiatrist = held.user if held else None
        services.assign_hospital_area(
            actor=None,
            hospital=hospital,
            area=OrgUnit.objects.get(kind=Kind.DISTRICT, name=district_name),
            psychiatrist=psychiatrist,
            started_on=start,
        )
        counts["hospital_areas"] += 1
    case = (
        Case.objects.open()
        .filter(school__name="明湖区育才中学")
        .select_related("owner", "student")
        .order_by("opened_at", "id")
        .first()
    )
    if case is not None:
        services.invite_expert(
            actor=case.owner,
            case=case,
            expert=expert,
            purpose="conference",
            reason="学校个案研讨会：请专家对帮扶方案提出意见",
            days=14,
        )
        counts["expert_grants"] += 1
    return counts
