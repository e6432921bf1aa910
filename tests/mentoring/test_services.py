"""Assignment (one at a time, reassign, end, balanced by class), the at-most-one-mentor
constraint, a mentor's scope in the access layer, talk logs and the worried → concern path."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import principal_for
from xinqiao.alerts.models import Concern, Source
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.mentoring import selectors, services
from xinqiao.mentoring.models import Mentorship, TalkLog


def mentees_of(user):
    return set(
        principal_for(user)
        .students(tier=Tier.T1, cap=Cap.MENTOR_STUDENTS)
        .values_list("name", flat=True)
    )


def talk(w, *, worried=False, key="k1", note="最近和同桌闹矛盾", student=None, mentor=None):
    return services.log_talk(
        actor=mentor or w.mentor,
        student=student or w.stu_a1,
        held_on=timezone.localdate(),
        topic="relationships",
        note=note,
        worried=worried,
        client_key=key,
    )


def test_a_student_has_at_most_one_current_mentor_per_term(world):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)

    with pytest.raises(IntegrityError), transaction.atomic():
        Mentorship.objects.create(
            school=world.school_a,
            term=world.term,
            student=world.stu_a1,
            mentor=world.psych,
            started_at=timezone.now(),
        )


def test_reassigning_ends_the_old_mentorship_and_keeps_one_current(world):
    first = services.assign_mentor(
        actor=world.school_admin, student=world.stu_a1, mentor=world.mentor
    )
    second = services.assign_mentor(
        actor=world.school_admin, student=world.stu_a1, mentor=world.psych
    )

    first.refresh_from_db()
    assert first.ended_at is not None
    assert list(Mentorship.objects.current().filter(student=world.stu_a1)) == [second]
    assert mentees_of(world.mentor) == set()
    assert mentees_of(world.psych) == {"王小明"}


def test_the_same_assignment_twice_is_one_row(world):
    services.assign_mentor(actor=world.head_teacher, student=world.stu_a1, mentor=world.mentor)
    services.assign_mentor(actor=world.head_teacher, student=world.stu_a1, mentor=world.mentor)

    assert Mentorship.objects.count() == 1


def test_a_head_teacher_assigns_only_in_their_class(world):
    with pytest.raises(DomainError):
        services.assign_mentor(actor=world.head_teacher, student=world.stu_a2, mentor=world.mentor)
    with pytest.raises(DomainError):
        services.assign_mentor(actor=world.mentor, student=world.stu_a1, mentor=world.mentor)
    assert Mentorship.objects.count() == 0


def test_the_mentor_must_teach_at_the_students_school(world):
    with pytest.raises(DomainError) as error:
        services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.psych_b)
    assert error.value.field == "mentor"


def test_bulk_assignment_is_balanced_and_keeps_assigned_students(world, class_of_six):
    kept = services.assign_mentor(
        actor=world.head_teacher, student=class_of_six[0], mentor=world.mentor
    )

    new = services.assign_class(
        actor=world.head_teacher,
        school_class=world.class_a1,
        mentors=[world.mentor, world.head_teacher, world.psych],
    )

    current = Mentorship.objects.current().filter(student__school_class=world.class_a1)
    loads = sorted(current.values_list("mentor_id", flat=True))
    assert len(new) == 5
    assert {loads.count(u.pk) for u in (world.mentor, world.head_teacher, world.psych)} == {2}
    assert Mentorship.objects.get(pk=kept.pk).ended_at is None
    event = AuditEvent.objects.filter(action="mentoring.class.assigned").get()
    assert (event.fields["assigned"], event.fields["kept"]) == (5, 1)


def test_bulk_assignment_again_adds_nobody(world, class_of_six):
    services.assign_class(
        actor=world.school_admin, school_class=world.class_a1, mentors=[world.mentor]
    )

    again = services.assign_class(
        actor=world.school_admin, school_class=world.class_a1, mentors=[world.psych]
    )

    assert again == []
    assert mentees_of(world.psych) == set()
    assert len(mentees_of(world.mentor)) == 6


def test_a_mentor_sees_exactly_their_current_mentees(world):
    # The mentor's role is at class A1; a mentee of class A2 is theirs too, a classmate is not.
    services.assign_mentor(actor=world.school_admin, student=world.stu_a2, mentor=world.mentor)
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.psych)

    assert mentees_of(world.mentor) == {"李小红"}
    assert mentees_of(world.head_teacher) == set()
    assert mentees_of(world.psych_b) == set()
    principal = principal_for(world.mentor)
    assert principal.tier_for(world.stu_a2, cap=Cap.MENTOR_STUDENTS) == Tier.T1
    assert principal.tier_for(world.stu_a1, cap=Cap.MENTOR_STUDENTS) == Tier.NONE


def test_an_ended_mentorship_ends_the_access(world):
    row = services.assign_mentor(
        actor=world.school_admin, student=world.stu_a2, mentor=world.mentor
    )

    services.end_mentorship(actor=world.school_admin, mentorship=row)

    assert mentees_of(world.mentor) == set()
    assert AuditEvent.objects.filter(action="mentoring.mentorship.ended").count() == 1


def test_a_talk_is_logged_with_its_note_encrypted(world):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)

    row = talk(world)

    assert TalkLog.objects.get().note == "最近和同桌闹矛盾"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM mentoring_talklog WHERE id = %s", [row.pk])
        stored = cursor.fetchone()[0]
    assert "同桌" not in stored
    assert row.concern_code is None
    assert Concern.objects.filter(source=Source.MENTOR).count() == 0


def test_a_double_submit_records_one_talk(world):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)

    first, second = talk(world), talk(world)

    assert first.pk == second.pk
    assert TalkLog.objects.count() == 1


def test_a_worried_talk_files_a_mentor_concern_into_the_alert_flow(world):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a2, mentor=world.mentor)

    row = talk(world, worried=True, student=world.stu_a2, note="说不想活了")

    concern = Concern.objects.get(code=row.concern_code)
    assert (concern.source, concern.student, concern.reporter) == (
        Source.MENTOR,
        world.stu_a2,
        world.mentor,
    )
    assert concern.alert is not None
    assert "不想活" not in concern.what_seen


def test_a_head_teacher_mentor_reports_as_mentor(world):
    # A head teacher's own concerns report as "head teacher"; a worried talk as "mentor".
    services.assign_mentor(
        actor=world.school_admin, student=world.stu_a1, mentor=world.head_teacher
    )

    row = talk(world, worried=True, mentor=world.head_teacher)

    assert Concern.objects.get(code=row.concern_code).source == Source.MENTOR


def test_a_talk_with_someone_elses_mentee_is_refused(world):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.psych)

    with pytest.raises(DomainError):
        talk(world)
    assert TalkLog.objects.count() == 0


def test_a_talk_in_the_future_is_refused(world):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)

    with pytest.raises(DomainError) as error:
        services.log_talk(
            actor=world.mentor,
            student=world.stu_a1,
            held_on=timezone.localdate() + datetime.timedelta(days=1),
            topic="study",
            note="",
            worried=False,
            client_key="k",
        )
    assert error.value.field == "held_on"
    assert TalkLog.objects.count() == 0


def test_mentor_talks_counts_per_user_in_the_window(world):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)
    talk(world, key="a")
    talk(world, key="b")
    today = timezone.localdate()

    counts = selectors.mentor_talks([world.mentor, world.psych], today, today)
    before = selectors.mentor_talks(
        [world.mentor.pk], today - datetime.timedelta(days=9), today - datetime.timedelta(days=1)
    )

    assert counts == {world.mentor.pk: 2, world.psych.pk: 0}
    assert before == {world.mentor.pk: 0}


def test_coverage_counts_per_class(world, class_of_six):
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)
    services.assign_mentor(actor=world.school_admin, student=class_of_six[1], mentor=world.psych)
    talk(world)

    rows = {
        r.school_class: r for r in selectors.coverage(principal_for(world.school_admin), world.term)
    }

    a1 = rows[world.class_a1]
    assert (a1.students, a1.without_mentor, a1.mentors, a1.mentors_without_talk) == (6, 4, 2, 1)
    assert a1.talks_this_month == 1
    assert rows[world.class_a2].without_mentor == 1
    assert set(rows) == {world.class_a1, world.class_a2}
    head = selectors.coverage(principal_for(world.head_teacher), world.term)
    assert [r.school_class for r in head] == [world.class_a1]
