"""Opening a campaign assigns exactly the students in scope (set-based); joiners, consent."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinqiao.core.errors import DomainError
from xinqiao.people.models import StudentStatus
from xinqiao.people.services import create_student
from xinqiao.screening import services
from xinqiao.screening.models import Assignment, AssignmentStatus, ConsentBasis
from xinqiao.screening.taking.services import enter_by_link
from xinqiao.screening.tasks import sync_open_campaigns

from .taking_helpers import battery
from .test_campaign import make_campaign


def instruments(assignment):
    """The (code, version) list the student side gives this assignment to answer."""
    return [(i.code, i.version) for i in battery(assignment)]


pytestmark = pytest.mark.django_db


def statuses(campaign):
    return {
        a.student_id: a.status
        for a in Assignment.objects.filter(campaign=campaign, resit_of__isnull=True)
    }


def test_open_assigns_exactly_the_enrolled_students_in_scope(world):
    campaign = make_campaign(world)
    created = services.open_campaign(actor=world.psych, campaign=campaign)
    assert created == 2
    assert statuses(campaign) == {
        world.stu_a1.pk: AssignmentStatus.ASSIGNED,
        world.stu_a2.pk: AssignmentStatus.ASSIGNED,
    }
    a1 = Assignment.objects.get(campaign=campaign, student=world.stu_a1)
    assert a1.school_id == world.school_a.pk
    assert a1.school_class_id == world.class_a1.pk
    assert a1.grade_id == world.grade_a7.pk
    assert a1.stage_band == "junior"
    assert instruments(a1) == [("PHQ-A", "1.0"), ("GAD-7", "1.0"), ("ASQ", "1.0")]


def test_assignments_are_created_in_one_statement(world):
    campaign = make_campaign(world, owner=world.city, actor=world.city_admin)
    with CaptureQueriesContext(connection) as ctx:
        services.open_campaign(actor=world.city_admin, campaign=campaign)
    inserts = [
        q["sql"] for q in ctx.captured_queries if 'INSERT INTO "screening_assignment"' in q["sql"]
    ]
    assert len(inserts) == 1
    assert "SELECT" in inserts[0]
    assert set(statuses(campaign)) == {world.stu_a1.pk, world.stu_a2.pk, world.stu_b1.pk}


def test_class_and_grade_scope(world):
    campaign = make_campaign(world, units=[world.class_a2])
    services.open_campaign(actor=world.psych, campaign=campaign)
    assert set(statuses(campaign)) == {world.stu_a2.pk}
    other = make_campaign(world, units=[world.school_a], grade_levels=[8])
    services.open_campaign(actor=world.psych, campaign=other)
    assert statuses(other) == {}


def test_explicit_student_list(world):
    campaign = make_campaign(world, units=[], students=[world.stu_a2], kind="incident")
    services.open_campaign(actor=world.psych, campaign=campaign)
    assert set(statuses(campaign)) == {world.stu_a2.pk}


def test_suspended_students_are_listed_apart_and_leavers_are_not_assigned(world):
    world.stu_a2.status = StudentStatus.SUSPENDED
    world.stu_a2.save()
    campaign = make_campaign(world, owner=world.city, actor=world.city_admin)
    world.stu_b1.status = StudentStatus.TRANSFERRED_OUT
    world.stu_b1.save()
    services.open_campaign(actor=world.city_admin, campaign=campaign)
    assert statuses(campaign) == {
        world.stu_a1.pk: AssignmentStatus.ASSIGNED,
        world.stu_a2.pk: AssignmentStatus.SUSPENDED,
    }


def test_guardian_consent_needed(world):
    campaign = make_campaign(world, consent_basis=ConsentBasis.GUARDIAN_CONSENT)
    services.record_consents(
        actor=world.psych, campaign=campaign, students=[world.stu_a1], granted=True
    )
    services.open_campaign(actor=world.psych, campaign=campaign)
    assert statuses(campaign) == {
        world.stu_a1.pk: AssignmentStatus.ASSIGNED,
        world.stu_a2.pk: AssignmentStatus.NO_CONSENT,
    }
    # Consent recorded later (bulk for the class) releases the questionnaire.
    services.record_consents(
        actor=world.head_teacher, campaign=campaign, students=[world.stu_a1], granted=False
    )
    services.record_consents(
        actor=world.psych, campaign=campaign, students=[world.stu_a2], granted=True
    )
    assert statuses(campaign) == {
        world.stu_a1.pk: AssignmentStatus.NO_CONSENT,
        world.stu_a2.pk: AssignmentStatus.ASSIGNED,
    }


def test_statutory_duty_objection_withholds(world):
    campaign = make_campaign(world)
    services.record_consents(
        actor=world.psych, campaign=campaign, students=[world.stu_a2], granted=False
    )
    services.open_campaign(actor=world.psych, campaign=campaign)
    assert statuses(campaign)[world.stu_a2.pk] == AssignmentStatus.NO_CONSENT


def test_head_teacher_cannot_record_consent_for_another_class(world):
    campaign = make_campaign(world, consent_basis=ConsentBasis.GUARDIAN_CONSENT)
    with pytest.raises(DomainError):
        services.record_consents(
            actor=world.head_teacher, campaign=campaign, students=[world.stu_a2], granted=True
        )


def test_students_who_join_while_open_are_assigned(world):
    campaign = make_campaign(world)
    services.open_campaign(actor=world.psych, campaign=campaign)
    newcomer = create_student(
        actor=None,
        student_number="G360102201304040011",
        name="新同学",
        gender="F",
        birth_date=datetime.date(2013, 4, 4),
        school_class=world.class_a1,
        term=world.term,
    )
    elsewhere = create_student(
        actor=None,
        student_number="G360103201305050015",
        name="乙校新同学",
        gender="M",
        birth_date=datetime.date(2013, 5, 5),
        school_class=world.class_b1,
        term=world.term,
    )
    # The hook the roster import calls, then the periodic task (idempotent).
    assert services.students_changed(school_ids=[world.school_a.pk]) == 2  # world.campaign too
    assert sync_open_campaigns.delay().get() == 0
    assert newcomer.pk in statuses(campaign)
    assert elsewhere.pk not in statuses(campaign)


def test_periodic_task_lifts_suspension(world):
    world.stu_a2.status = StudentStatus.SUSPENDED
    world.stu_a2.save()
    campaign = make_campaign(world)
    services.open_campaign(actor=world.psych, campaign=campaign)
    world.stu_a2.status = StudentStatus.ENROLLED
    world.stu_a2.save()
    sync_open_campaigns.delay().get()
    assert statuses(campaign)[world.stu_a2.pk] == AssignmentStatus.ASSIGNED


def test_mark_absent_and_resit(world):
    campaign = make_campaign(world)
    services.open_campaign(actor=world.psych, campaign=campaign)
    a1 = Assignment.objects.get(campaign=campaign, student=world.stu_a1)
    services.mark_absent(actor=world.psych, assignment=a1)
    a1.refresh_from_db()
    assert a1.status == AssignmentStatus.ABSENT
    resit = services.assign_resit(actor=world.psych, assignment=a1, instruments=["PHQ-A"])
    assert resit.resit_of == a1
    assert resit.link_token
    assert instruments(resit) == [("PHQ-A", "1.0")]
    assert enter_by_link(token=resit.link_token)[0] == resit
    with pytest.raises(DomainError):
        services.assign_resit(actor=world.psych, assignment=a1)
    with pytest.raises(DomainError):
        services.mark_absent(actor=world.psych_b, assignment=a1)


def test_students_who_move_class_take_it_with_their_new_class(world):
    from xinqiao.people.services import move_student

    campaign = make_campaign(world)
    services.open_campaign(actor=world.psych, campaign=campaign)
    move_student(actor=None, student=world.stu_a1, school_class=world.class_a2, term=world.term)
    services.students_changed(school_ids=[world.school_a.pk])
    a1 = Assignment.objects.get(campaign=campaign, student=world.stu_a1)
    assert a1.school_class_id == world.class_a2.pk
    assert a1.grade_id == world.grade_a7.pk
