"""Progress counted in SQL; head teachers see completion only; sittings; absences; reminders."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.scope import principal_for
from xinqiao.core.errors import DomainError
from xinqiao.notifications.models import Notification
from xinqiao.notifications.services import dispatch_outbox
from xinqiao.people.services import create_student
from xinqiao.screening import selectors, services
from xinqiao.screening.models import REMINDER_KIND, Assignment, AssignmentStatus, Sitting
from xinqiao.screening.taking.services import sign_in

from .test_campaign import answer

pytestmark = pytest.mark.django_db


def _a(world, student):
    return Assignment.objects.get(campaign=world.campaign, student=student, resit_of=None)


def _more_students(world, n, cls=None):
    out = []
    for i in range(n):
        out.append(
            create_student(
                actor=None,
                student_number=f"G36010220130501{i:04d}",
                name=f"学生{i}",
                gender="F" if i % 2 else "M",
                birth_date=datetime.date(2013, 5, 1),
                school_class=cls or world.class_a1,
                term=world.term,
            )
        )
    services.students_changed(school_ids=[world.school_a.pk])
    return out


def test_progress_counts_per_school_grade_class(world):
    extra = _more_students(world, 3)
    answer(_a(world, world.stu_a1))
    services.mark_absent(actor=world.psych, assignment=_a(world, world.stu_a2))
    services.record_consents(
        actor=world.psych, campaign=world.campaign, students=[extra[0]], granted=False
    )
    answer(_a(world, extra[1]), seconds=0.2)  # far too fast → invalid
    principal = principal_for(world.psych)
    [school] = selectors.progress(principal, world.campaign, by="school")
    assert (
        school.assigned,
        school.completed,
        school.invalid,
        school.no_consent,
        school.absent,
    ) == (5, 1, 1, 1, 1)
    assert school.missing == 2  # stu_a2 (absent) and extra[2]
    by_class = {r.unit.pk: r for r in selectors.progress(principal, world.campaign, by="class")}
    assert by_class[world.class_a1.pk].assigned == 4
    assert by_class[world.class_a2.pk].absent == 1
    [grade] = selectors.progress(principal, world.campaign, by="grade")
    assert grade.unit == world.grade_a7
    assert grade.assigned == 5
    [district] = selectors.progress(principal_for(world.city_admin), world.campaign, by="district")
    assert district.unit == world.district_a
    assert district.completed == 1


def test_progress_is_one_grouped_query(world, django_assert_max_num_queries):
    principal = principal_for(world.psych)
    with django_assert_max_num_queries(2):  # GROUP BY + unit names
        selectors.progress(principal, world.campaign, by="class")


def test_completed_resit_counts_as_completed(world):
    a2 = _a(world, world.stu_a2)
    services.mark_absent(actor=world.psych, assignment=a2)
    resit = services.assign_resit(actor=world.psych, assignment=a2)
    answer(resit)
    [row] = selectors.progress(principal_for(world.psych), world.campaign, by="school")
    assert (row.completed, row.absent) == (1, 0)


def test_progress_partial_htmx(world, client_for):
    answer(_a(world, world.stu_a1))
    url = reverse("screening:campaign-progress", kwargs={"code": world.campaign.code}) + "?by=class"
    html = client_for(world.school_admin).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 15s"' in html
    assert world.class_a1.name in html


def test_head_teacher_sees_completion_only(world, client_for):
    answer(_a(world, world.stu_a1), {"PHQ-A": {"1": 3, "2": 3, "3": 3}, "ASQ": {"1": 1}})
    url = reverse(
        "screening:class-progress",
        kwargs={"code": world.campaign.code, "class_code": world.class_a1.code},
    )
    html = client_for(world.head_teacher).get(url).content.decode()
    assert world.stu_a1.name in html
    assert "Completed" in html or "已完成" in html
    for leak in ("PHQ-A", "ASQ", "moderate", "mild", "positive", "critical", "total"):
        assert leak not in html
    # The head teacher's own page lists the class with who is missing.
    mine = client_for(world.head_teacher).get(reverse("screening:my-classes")).content.decode()
    assert world.class_a1.name in mine
    assert world.class_a2.name not in mine


def test_class_page_scope(world, client_for):
    url = reverse(
        "screening:class-progress",
        kwargs={"code": world.campaign.code, "class_code": world.class_a2.code},
    )
    assert client_for(world.psych).get(url).status_code == 200
    assert client_for(world.head_teacher_b).get(url).status_code == 404
    assert client_for(world.psych_b).get(url).status_code == 404
    assert client_for(world.mentor).get(url).status_code == 403
    # Head teacher of A1 looking at A2: outside their scope (their class).
    assert client_for(world.head_teacher).get(url).status_code == 404


def test_missing_students_listed_first(world):
    answer(_a(world, world.stu_a1))
    extra = _more_students(world, 1)
    entries = selectors.class_list(
        principal_for(world.head_teacher), world.campaign, world.class_a1
    )
    assert [e.student.pk for e in entries] == [extra[0].pk, world.stu_a1.pk]


def test_bulk_consent_for_a_class(world, client_for):
    from .test_campaign import make_campaign

    campaign = make_campaign(world, consent_basis="guardian_consent")
    services.open_campaign(actor=world.psych, campaign=campaign)
    url = reverse(
        "screening:class-consent", kwargs={"code": campaign.code, "class_code": world.class_a1.code}
    )
    response = client_for(world.head_teacher).post(
        url, {"student": [str(world.stu_a1.code)], "granted": "1", "note": "家长会回执"}
    )
    assert response.status_code == 302
    assert Assignment.objects.get(campaign=campaign, student=world.stu_a1).status == "assigned"
    assert Assignment.objects.get(campaign=campaign, student=world.stu_a2).status == "no_consent"
    assert (
        client_for(world.psych_b)
        .post(url, {"student": [str(world.stu_a1.code)], "granted": "1"})
        .status_code
        == 404
    )
    assert (
        client_for(world.mentor)
        .post(url, {"student": [str(world.stu_a1.code)], "granted": "1"})
        .status_code
        == 403
    )


def test_mark_absent_and_resit_views(world, client_for):
    def url(action, student=world.stu_a2):
        return reverse(
            "screening:assignment-action",
            kwargs={"code": world.campaign.code, "student": student.code, "action": action},
        )

    assert client_for(world.head_teacher).post(url("absent")).status_code == 403
    assert client_for(world.psych_b).post(url("absent")).status_code == 404
    assert client_for(world.psych).post(url("absent")).status_code == 302
    assert _a(world, world.stu_a2).status == AssignmentStatus.ABSENT
    assert client_for(world.psych).post(url("resit")).status_code == 302
    resit = Assignment.objects.get(resit_of=_a(world, world.stu_a2))
    assert resit.link_token
    assert resit.status == AssignmentStatus.ASSIGNED


def test_sitting_open_screen_close(world, client_for):
    world.sitting.closed_at = timezone.now()
    world.sitting.save()
    head = client_for(world.head_teacher)
    url = reverse(
        "screening:sitting-open",
        kwargs={"code": world.campaign.code, "class_code": world.class_a1.code},
    )
    response = head.post(url, {"minutes": "40"})
    sitting = Sitting.objects.get(school_class=world.class_a1, closed_at=None)
    assert response.status_code == 302
    assert str(sitting.key) in response["Location"]
    assert len(sitting.code) == 6
    assert not set(sitting.code) & set("0O1IL")
    screen = head.get(response["Location"]).content.decode()
    assert sitting.code in screen
    assert "sitting-code" in screen
    # A student enters the code and their number.
    found = sign_in(sitting_code=sitting.code.lower(), student_number=world.stu_a1.student_number)
    assert Assignment.objects.get(pk=found.assignment_id).student == world.stu_a1
    with pytest.raises(DomainError):
        sign_in(
            sitting_code=sitting.code, student_number=world.stu_a2.student_number
        )  # class A2: not in this sitting
    screen_url = reverse("screening:sitting-screen", kwargs={"key": sitting.key})
    assert client_for(world.psych_b).get(screen_url).status_code == 404
    assert client_for(world.mentor).get(screen_url).status_code == 403
    status_url = reverse("screening:sitting-status", kwargs={"key": sitting.key})
    assert "hx-trigger" in head.get(status_url).content.decode()
    close = reverse("screening:sitting-close", kwargs={"key": sitting.key})
    assert client_for(world.psych_b).post(close).status_code == 404
    assert head.post(close).status_code == 302
    sitting.refresh_from_db()
    assert sitting.closed_at is not None
    with pytest.raises(DomainError):
        sign_in(sitting_code=sitting.code, student_number=world.stu_a1.student_number)


def test_sitting_for_other_school_class_refused(world, client_for):
    url = reverse(
        "screening:sitting-open",
        kwargs={"code": world.campaign.code, "class_code": world.class_b1.code},
    )
    assert client_for(world.head_teacher_b).post(url).status_code == 404
    assert client_for(world.school_admin).post(url).status_code == 403


def test_reminders_to_head_teachers_behind_schedule(world, client_for):
    now = timezone.now()
    world.campaign.opens_at = now - datetime.timedelta(days=10)
    world.campaign.closes_at = now + datetime.timedelta(days=2)
    world.campaign.save()
    assert services.send_progress_reminders(now=now) == 1  # head teacher of A1 (no head for A2)
    assert services.send_progress_reminders(now=now) == 0  # once a day
    note = Notification.objects.get(kind=REMINDER_KIND)
    assert note.recipient == world.head_teacher
    assert note.ref == world.class_a1
    campaign = world.campaign.name
    assert note.subject == f"七(1)班 is behind schedule in “{campaign}”: please arrange a sitting."
    head = client_for(world.head_teacher)
    html = head.get(reverse("screening:my-classes")).content.decode()
    assert note.subject in html
    # The same store as every notification: it reaches the inbox and, once read there, leaves
    # the class page.
    dispatch_outbox()
    assert note.subject in head.get(reverse("notifications:inbox")).content.decode()
    assert note.subject not in head.get(reverse("screening:my-classes")).content.decode()


def test_not_behind_early_in_the_window():
    start = timezone.now()
    end = start + datetime.timedelta(days=10)
    assert not services.behind_schedule(
        completed=0, due=30, opens_at=start, closes_at=end, now=start + datetime.timedelta(days=1)
    )
    assert services.behind_schedule(
        completed=5, due=30, opens_at=start, closes_at=end, now=start + datetime.timedelta(days=6)
    )
    assert not services.behind_schedule(
        completed=25, due=30, opens_at=start, closes_at=end, now=start + datetime.timedelta(days=9)
    )
