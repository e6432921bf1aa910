"""The demo city's rooms, crisis teams, plans, drill and district helpline (docs/emergency.md,
docs/facilities.md): made through the services, visible on the pages of the demo's roles."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from xinqiao.demo.emergency import seed_demo_emergency
from xinqiao.demo.generator import seed_demo_city
from xinqiao.emergency.models import CrisisTeam, Drill, EmergencyPlan, Hotline
from xinqiao.facilities.models import ChecklistAnswer, CounsellingRoom

pytestmark = pytest.mark.django_db


def test_demo_emergency_and_rooms(client_for):
    seed_demo_city(students=400, seed=2026)

    counts = seed_demo_emergency(seed=2026)

    users = get_user_model().objects
    assert counts["emergency_rooms"] == CounsellingRoom.objects.count() > 10
    assert set(CounsellingRoom.objects.values_list("status", flat=True)) == {
        "model",
        "compliant",
        "below",
    }
    assert ChecklistAnswer.objects.exclude(photo_storage="").count() == 3
    assert CrisisTeam.objects.count() == 2
    assert EmergencyPlan.objects.get().versions.count() == 2
    assert Drill.objects.count() == 1
    assert Hotline.objects.filter(unit__name="明湖区").count() == 1
    district = client_for(users.get(username="demo_district_admin_mh"))
    rooms = district.get(reverse("facilities:room-list"))
    assert rooms.status_code == 200
    assert rooms.context["counts"]["total"] >= 3
    assert "0791-86100120" in district.get(reverse("emergency:home")).content.decode()
