"""A new alert goes to the counsellor on duty at the student's school (the counselling app's
owner resolver, after the cases app's): the roster's slot (or its substitute that day), on a
holiday or outside every slot the school's psychology teachers, a school without one the district
station's counsellor; a high-care student's open case still goes to the case owner."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.alerts import services as alert_services
from xinqiao.alerts.hooks import alert_owners_for
from xinqiao.alerts.models import Source
from xinqiao.counselling import services
from xinqiao.counselling.models import ExceptionKind
from xinqiao.orgs.services import create_unit
from xinqiao.people.services import create_student

from ..conftest import _user

WEDNESDAY = datetime.date(2026, 10, 14)  # in the world's autumn term
WINTER_HOLIDAY_WEDNESDAY = datetime.date(2027, 2, 10)  # after the term's end


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def routing(world):
    w = world
    w.psych_a2 = _user("psych_a2", "甲校心理老师二", w.school_a, Role.PSYCHOLOGY_TEACHER)
    w.psych_a3 = _user("psych_a3", "甲校心理老师三", w.school_a, Role.PSYCHOLOGY_TEACHER)
    w.stu_new = fresh_student(w, w.class_a1, "G110101201301011230", "周小雨")
    w.slot = services.add_duty_slot(
        actor=w.school_admin,
        unit=w.school_a,
        counsellor=w.psych_a2,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(8, 0),
        ends=datetime.time(17, 0),
    )
    return w


def fresh_student(w, cls, number, name):
    """A student without an open alert or case (the world's stu_a1 has an alert, stu_a2 a case)."""
    return create_student(
        actor=None,
        student_number=number,
        name=name,
        gender="F",
        birth_date=datetime.date(2013, 1, 1),
        school_class=cls,
        term=w.term,
    )


def raise_for(student, when):
    with time_machine.travel(when, tick=False):
        return alert_services.raise_alert(
            student=student, level="orange", source=Source.HEAD_TEACHER, evidence={"note": "test"}
        )


def test_a_new_alert_goes_to_the_counsellor_on_duty(routing):
    alert = raise_for(routing.stu_new, at(WEDNESDAY, 10))

    assert alert.owner_id == routing.psych_a2.pk  # not the school's first psychology teacher


def test_a_substitute_on_the_day_receives_it(routing):
    services.add_duty_exception(
        actor=routing.school_admin,
        unit=routing.school_a,
        date=WEDNESDAY,
        kind=ExceptionKind.SUBSTITUTE,
        slot=routing.slot,
        substitute=routing.psych_a3,
        reason="调课",
    )

    alert = raise_for(routing.stu_new, at(WEDNESDAY, 10))

    assert alert.owner_id == routing.psych_a3.pk


def test_on_a_holiday_it_falls_back_to_the_schools_psychology_teachers(routing):
    alert = raise_for(routing.stu_new, at(WINTER_HOLIDAY_WEDNESDAY, 10))

    assert alert.owner_id == routing.psych.pk  # the first of the unit's psychology teachers


def test_without_a_roster_the_first_psychology_teacher(world):
    student = fresh_student(world, world.class_a1, "G110101201301011230", "周小雨")
    alert = raise_for(student, at(WEDNESDAY, 10))

    assert alert.owner_id == world.psych.pk


def test_a_school_without_a_psychology_teacher_goes_to_the_district_station(world):
    school = create_unit(
        actor=None, parent=world.district_a, kind="school", name="甲区第三小学", stage="primary"
    )
    grade = create_unit(actor=None, parent=school, kind="grade", name="五年级", grade_level=5)
    cls = create_unit(actor=None, parent=grade, kind="class", name="五(1)班")
    student = fresh_student(world, cls, "G110101201501011239", "孙小月")

    owners = alert_owners_for([student])
    alert = raise_for(student, at(WEDNESDAY, 10))

    assert owners[student.pk].pk == world.station_counsellor.pk
    assert alert.owner_id == world.station_counsellor.pk


def test_a_high_care_students_open_case_still_wins(routing):
    assert routing.case_a2.owner_id == routing.psych.pk  # stu_a2's open case (the world's)

    alert = raise_for(routing.stu_a2, at(WEDNESDAY, 10))

    assert alert.owner_id == routing.psych.pk  # not the counsellor on duty
    assert raise_for(routing.stu_new, at(WEDNESDAY, 10)).owner_id == routing.psych_a2.pk
