"""The demo city has students' help requests and bookings in every school with students."""

from __future__ import annotations

import pytest
from django.db.models import Count

from xinqiao.counselling.models import Appointment, BookedAs, HelpRequest
from xinqiao.demo.counselling_help import seed_demo_counselling_help
from xinqiao.demo.generator import seed_demo_city
from xinqiao.orgs.models import Kind, OrgUnit

pytestmark = pytest.mark.django_db


def test_every_school_has_help_requests_and_student_bookings():
    seed_demo_city(students=400, seed=2026)
    counts = seed_demo_counselling_help(seed=2026)

    with_students = OrgUnit.objects.filter(kind=Kind.SCHOOL).annotate(n=Count("students"))
    schools = set(with_students.filter(n__gte=4).values_list("pk", flat=True))
    assert schools
    assert counts["help_requests"] == HelpRequest.objects.count() > 0
    assert set(HelpRequest.objects.values_list("school_id", flat=True)) == schools
    assert HelpRequest.objects.filter(urgent=True, closed_at__isnull=True).exists()
    booked = Appointment.objects.filter(booked_as=BookedAs.STUDENT)
    assert booked.count() == counts["student_bookings"] > 0
    message = HelpRequest.objects.exclude(message="").first()
    assert message is not None
    assert message.message
