"""The demo city's counselling service (xinqiao/demo/counselling.py): rooms with opening hours,
rosters with a substitute and a holiday, availability and bookings in every school and station,
shown on the demo roles' pages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from xinqiao.counselling.models import (
    Appointment,
    Availability,
    DutyException,
    DutySlot,
    Room,
    RoomHours,
)
from xinqiao.demo.counselling import seed_demo_counselling
from xinqiao.demo.generator import seed_demo_city
from xinqiao.orgs.models import Kind, OrgUnit

pytestmark = pytest.mark.django_db


def test_every_school_and_station_has_its_counselling(client_for):
    seed_demo_city(students=400, seed=2026)

    counts = seed_demo_counselling(seed=2026)

    units = OrgUnit.objects.filter(kind__in=[Kind.SCHOOL, Kind.STATION])
    assert counts["counselling_appointments"] == Appointment.objects.count() > 0
    for unit in units:
        assert Room.objects.filter(unit=unit).count() == 2
        assert RoomHours.objects.filter(room__unit=unit).count() == 10
        assert DutySlot.objects.filter(unit=unit).exists(), unit.name
        assert Availability.objects.filter(unit=unit).exists(), unit.name
        assert set(Appointment.objects.filter(unit=unit).values_list("status", flat=True)) == {
            "done",
            "confirmed",
            "cancelled",
        }, unit.name
    assert DutyException.objects.filter(kind="substitute").exists()
    assert DutyException.objects.filter(kind="closed", slot__isnull=True).count() == units.count()
    assert Appointment.objects.filter(booked_as="head_teacher").exists()
    psych = get_user_model().objects.get(username="demo_psych_mhyc_1")
    page = client_for(psych).get(reverse("counselling:workload-mine") + "?period=term")
    assert page.status_code == 200
    school = OrgUnit.objects.get(name="明湖区育才中学")
    usage = client_for(psych).get(reverse("counselling:room-usage", args=[school.code]))
    assert "个体辅导室" in usage.content.decode()
