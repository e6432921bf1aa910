"""A roster move of a student with an open case tells the case owner once to send it on."""

from __future__ import annotations

import pytest
from django.db import transaction

from xinqiao.notifications.models import InboxMessage
from xinqiao.notifications.services import dispatch_outbox
from xinqiao.people.services import move_student

pytestmark = pytest.mark.django_db(transaction=True)


def _move(world, student, school_class):
    with transaction.atomic():
        move_student(
            actor=world.sysadmin, student=student, school_class=school_class, term=world.term
        )


def test_owner_told_once_when_the_roster_moves_the_student(world):
    _move(world, world.stu_a2, world.class_b1)
    _move(world, world.stu_a2, world.class_b1)  # a second roster change: no second notice
    dispatch_outbox()
    told = InboxMessage.objects.filter(
        recipient=world.psych, notification__kind="case.student_moved"
    )
    assert told.count() == 1
    assert told.get().url.endswith(f"/cases/{world.case_a2.code}/")


def test_a_move_within_the_school_tells_nobody(world):
    _move(world, world.stu_a2, world.class_a1)
    dispatch_outbox()
    assert not InboxMessage.objects.filter(notification__kind="case.student_moved").exists()
