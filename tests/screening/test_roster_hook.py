"""A student who joins an open campaign's scope gets an assignment when the roster changes."""

import datetime

import pytest

from xinqiao.people.services import create_student
from xinqiao.screening.models import Assignment


@pytest.mark.django_db(transaction=True)
def test_new_student_in_open_campaign_scope_is_assigned(world):
    campaign = world.campaign
    before = Assignment.objects.filter(campaign=campaign).count()
    student = create_student(
        actor=None,
        student_number="G360102201304040013",
        name="新同学",
        gender="F",
        birth_date=datetime.date(2013, 4, 4),
        school_class=world.class_a1,
        term=world.term,
        id_number="",
    )
    assert Assignment.objects.filter(campaign=campaign).count() == before + 1
    assert Assignment.objects.filter(campaign=campaign, student=student).exists()


@pytest.mark.django_db(transaction=True)
def test_student_of_another_school_is_not_assigned(world):
    student = create_student(
        actor=None,
        student_number="G360103201305050011",
        name="外校生",
        gender="M",
        birth_date=datetime.date(2013, 5, 5),
        school_class=world.class_b1,
        term=world.term,
    )
    assert not Assignment.objects.filter(campaign=world.campaign, student=student).exists()
