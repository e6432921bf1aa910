"""Two schools in two districts with teachers of each threshold at school A, one teacher at
school B (data that could leak), and the personas who enter, read and are refused workforce
records."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from xinqiao.people.models import Position
from xinqiao.workforce import services
from xinqiao.workforce.models import TrainingLevel, TrainingMode

from ..factories import StaffFactory, two_schools, with_personas


@pytest.fixture
def w(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    w = with_personas(
        two_schools(),
        "city_admin",
        "district_admin",
        "station_counsellor",
        "school_admin",
        "psych",
        "head_teacher",
        "psych_b",
    )
    w.full = StaffFactory(
        username="full_a",
        name="专职甲",
        org_unit=w.school_a,
        positions=[(Position.PSYCHOLOGY_TEACHER_FULL, w.school_a)],
    )
    w.key = StaffFactory(
        username="key_a",
        name="班主任甲",
        org_unit=w.school_a,
        positions=[(Position.HEAD_TEACHER, w.class_a1)],
    )
    w.moral = StaffFactory(
        username="moral_a",
        name="德育甲",
        org_unit=w.school_a,
        positions=[(Position.MORAL_EDUCATION_LEADER, w.school_a)],
    )
    w.other = StaffFactory(
        username="other_a",
        name="科任甲",
        org_unit=w.school_a,
        positions=[(Position.SUBJECT_TEACHER, w.class_a1)],
    )
    w.teacher_b = StaffFactory(username="teacher_b", name="乙校老师", org_unit=w.school_b)
    return w


def add(staff, hours, *, day=datetime.date(2026, 10, 10), course=None, actor=None):
    return services.add_training(
        actor=actor,
        staff=staff,
        course=course or f"课程{hours}-{day}",
        start_date=day,
        hours=Decimal(str(hours)),
        level=TrainingLevel.CITY,
        mode=TrainingMode.OFFLINE,
    )
