"""Screening reads per role (screening.selectors): progress by class and district and its
arithmetic, a class's list, the head teacher's classes, whose individual results a user may read
(per role, tier and the campaign's visibility), which campaigns a user sees, aggregates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tests.factories import (
    CampaignFactory,
    ClassFactory,
    GradeFactory,
    SchoolFactory,
    StaffFactory,
    StationFactory,
    StudentFactory,
)
from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import principal_for
from xinqiao.screening import selectors, services
from xinqiao.screening.models import Assignment, AssignmentStatus
from xinqiao.screening.selectors import ProgressRow

from .test_campaign import answer

pytestmark = pytest.mark.django_db


def assignment(campaign, student) -> Assignment:
    return Assignment.objects.get(campaign=campaign, student=student, resit_of=None)


@pytest.fixture
def school():
    """A junior school with classes c1 (three students) and c2 (two), its psychology teacher,
    c1's head teacher, the district admin, and an open campaign of the school."""
    grade = GradeFactory()
    s = SimpleNamespace(grade=grade, unit=grade.parent, district=grade.parent.parent)
    s.c1, s.c2 = ClassFactory(parent=grade), ClassFactory(parent=grade)
    s.in_c1 = [StudentFactory(school_class=s.c1) for _ in range(3)]
    s.in_c2 = [StudentFactory(school_class=s.c2) for _ in range(2)]
    s.psych = StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=s.unit).user
    s.head_c1 = StaffFactory(role=Role.HEAD_TEACHER, org_unit=s.unit, role_unit=s.c1).user
    s.district_admin = StaffFactory(role=Role.DISTRICT_ADMIN, org_unit=s.district).user
    s.campaign = CampaignFactory(owner_unit=s.unit)
    services.open_campaign(actor=None, campaign=s.campaign)
    s.campaign.refresh_from_db()
    return s


# --- progress -------------------------------------------------------------------------------------


def test_progress_row_arithmetic():
    row = ProgressRow(
        unit=None,
        not_started=1,
        started=1,
        completed=4,
        invalid=1,
        no_consent=2,
        absent=1,
        suspended=0,
    )
    assert (row.missing, row.percent) == (3, 50)  # 4 of the 8 who may take it
    nobody_due = ProgressRow(
        unit=None,
        not_started=0,
        started=0,
        completed=0,
        invalid=0,
        no_consent=2,
        absent=0,
        suspended=1,
    )
    assert (nobody_due.missing, nobody_due.percent) == (0, 0)
    assert (row.total, row.assigned, nobody_due.total) == (10, 10, 3)


def test_progress_by_class_follows_the_role(school):
    psych = principal_for(school.psych)
    head = principal_for(school.head_c1)
    rows = selectors.progress(psych, school.campaign, by="class")
    assert [(r.unit, r.assigned) for r in rows] == [(school.c1, 3), (school.c2, 2)]
    [own] = selectors.progress(head, school.campaign, by="class", cap=Cap.VIEW_CLASS_PROGRESS)
    assert (own.unit, own.assigned) == (school.c1, 3)
    # a head teacher sees their class's completion, not the school's progress
    assert selectors.progress(head, school.campaign, by="school") == []


def test_progress_counts_each_status_of_a_class(school):
    done, away, objected = school.in_c1
    answer(assignment(school.campaign, done))
    services.mark_absent(actor=school.psych, assignment=assignment(school.campaign, away))
    services.record_consents(
        actor=school.psych, campaign=school.campaign, students=[objected], granted=False
    )
    [c1, c2] = selectors.progress(principal_for(school.psych), school.campaign, by="class")
    assert (c1.assigned, c1.completed, c1.absent, c1.no_consent, c1.missing, c1.percent) == (
        3,
        1,
        1,
        1,
        1,
        50,
    )
    assert (c2.completed, c2.missing) == (0, 2)
    total = selectors.progress_total([c1, c2])
    assert (total.unit, total.assigned, total.completed, total.missing) == (None, 5, 1, 3)


def test_the_states_of_a_class_add_up_to_its_size(school, client_for):
    """Not started, answering, handed in, invalid / re-sit, no consent, absent, suspended: each
    student once, a re-sit under its original (a head teacher once saw 已完成 0 · 尚未完成 46 for a
    class of 47 after one invalid hand-in)."""
    done, invalid, answering = school.in_c1
    answer(assignment(school.campaign, done))
    original = assignment(school.campaign, invalid)
    Assignment.objects.filter(pk=original.pk).update(status=AssignmentStatus.INVALID)
    Assignment.objects.filter(pk=assignment(school.campaign, answering).pk).update(
        status=AssignmentStatus.STARTED
    )
    away, off = school.in_c2
    services.mark_absent(actor=school.psych, assignment=assignment(school.campaign, away))
    Assignment.objects.filter(pk=assignment(school.campaign, off).pk).update(
        status=AssignmentStatus.SUSPENDED
    )

    def states(row: ProgressRow) -> dict[str, int]:
        return {state: getattr(row, state) for state in ProgressRow.STATES if getattr(row, state)}

    psych = principal_for(school.psych)
    c1, c2 = selectors.progress(psych, school.campaign, by="class")
    assert states(c1) == {"completed": 1, "invalid": 1, "started": 1}
    assert states(c2) == {"absent": 1, "suspended": 1}
    assert (c1.total, c2.total) == (3, 2)
    resit = services.assign_resit(actor=school.psych, assignment=original)
    assert states(selectors.progress(psych, school.campaign, by="class")[0])["invalid"] == 1
    Assignment.objects.filter(pk=resit.pk).update(status=AssignmentStatus.STARTED)
    c1 = selectors.progress(psych, school.campaign, by="class")[0]
    assert states(c1) == {"completed": 1, "started": 2}  # the re-sit is being answered
    assert c1.total == 3
    page = client_for(school.head_c1).get("/screening/my-classes/").content.decode()
    assert '<td class="text-end fw-semibold" data-testid="state-sum">3</td>' in page


def test_a_district_campaign_is_counted_per_district_and_per_school(school):
    other = SchoolFactory(parent=school.district)
    StudentFactory(school_class=ClassFactory(parent=GradeFactory(parent=other)))
    city_campaign = CampaignFactory(owner_unit=school.district)
    services.open_campaign(actor=None, campaign=city_campaign)
    district = principal_for(school.district_admin)
    [row] = selectors.progress(district, city_campaign, by="district")
    assert (row.unit, row.assigned) == (school.district, 6)
    per_school = selectors.progress(district, city_campaign, by="school")
    assert {r.unit: r.assigned for r in per_school} == {school.unit: 5, other: 1}
    # the school's psychology teacher counts their own school only
    [own] = selectors.progress(principal_for(school.psych), city_campaign, by="school")
    assert (own.unit, own.assigned) == (school.unit, 5)


# --- a class, my classes --------------------------------------------------------------------------


def test_class_list_puts_who_is_still_missing_first(school):
    done, away, objected = school.in_c1
    answer(assignment(school.campaign, done))
    services.mark_absent(actor=school.psych, assignment=assignment(school.campaign, away))
    services.record_consents(
        actor=school.psych, campaign=school.campaign, students=[objected], granted=False
    )
    late = StudentFactory(school_class=school.c1)
    services.students_changed(school_ids=[school.unit.pk])
    entries = selectors.class_list(principal_for(school.head_c1), school.campaign, school.c1)
    assert [(e.student, e.done) for e in entries] == [
        (late, False),
        (away, False),
        (objected, False),
        (done, True),
    ]


def test_class_list_of_another_class_is_404_for_the_head_teacher(school):
    with pytest.raises(Http404):
        selectors.class_list(principal_for(school.head_c1), school.campaign, school.c2)
    assert selectors.class_list(principal_for(school.psych), school.campaign, school.c2)


def test_my_classes_lists_open_campaigns_only(school):
    [(campaign, rows)] = selectors.my_classes(principal_for(school.head_c1))
    assert campaign == school.campaign
    assert [unit for unit, _ in rows] == [school.c1]
    services.close_campaign(actor=None, campaign=school.campaign)
    assert selectors.my_classes(principal_for(school.head_c1)) == []


# --- individual results (T3) ----------------------------------------------------------------------


def test_individual_results_are_for_the_schools_psychology_teacher(school):
    code = school.unit.code
    assert selectors.get_result_school(principal_for(school.psych), school.campaign, code)
    with pytest.raises(PermissionDenied):  # the school is in their area, the results are not
        selectors.get_result_school(principal_for(school.district_admin), school.campaign, code)
    with pytest.raises(Http404):  # a head teacher's area is their class
        selectors.get_result_school(principal_for(school.head_c1), school.campaign, code)
    other = StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=SchoolFactory()).user
    with pytest.raises(Http404):
        selectors.get_result_school(principal_for(other), school.campaign, code)


def test_the_station_reads_results_only_when_the_campaign_allows_it(school):
    station = StationFactory(parent=school.district)
    at_station = principal_for(StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=station).user)
    with pytest.raises(PermissionDenied):
        selectors.get_result_school(at_station, school.campaign, school.unit.code)
    shared = CampaignFactory(owner_unit=school.unit, results_visibility="psychology_and_station")
    services.open_campaign(actor=None, campaign=shared)
    assert selectors.get_result_school(at_station, shared, school.unit.code) == school.unit
    elsewhere = StationFactory()  # another district's station
    far = principal_for(StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=elsewhere).user)
    with pytest.raises(Http404):
        selectors.get_result_school(far, shared, school.unit.code)


def test_school_results_list_only_finished_questionnaires(school):
    done, quick, _ = school.in_c1
    answer(assignment(school.campaign, done))
    answer(assignment(school.campaign, quick), seconds=0.1)  # too fast: invalid
    rows = selectors.school_results(principal_for(school.psych), school.campaign, school.unit)
    assert {r.student: r.invalid for r in rows} == {done: False, quick: True}
    assert rows[0].student == quick  # invalid before valid (neither has a critical answer)


def test_aggregates_count_valid_questionnaires_only(school):
    done, quick, _ = school.in_c1
    answer(assignment(school.campaign, done))
    answer(assignment(school.campaign, quick), seconds=0.1)
    tables = selectors.aggregates(
        principal_for(school.district_admin), school.campaign, by="school"
    )
    phq = next(t for t in tables if t.instrument == "PHQ-A")
    [row] = phq.rows
    assert (row["unit"], row["n"]) == (school.unit, None)  # one valid response: a small total
    assert row["minimal"] is None


# --- which campaigns ------------------------------------------------------------------------------


def test_a_campaign_of_listed_students_is_seen_by_their_school_only(school):
    listed = school.in_c1[0]
    neighbour = StaffFactory(
        role=Role.PSYCHOLOGY_TEACHER, org_unit=SchoolFactory(parent=school.district)
    ).user
    campaign = CampaignFactory(owner_unit=school.district, units=[], students=[listed])
    assert campaign in selectors.campaigns_for(principal_for(school.psych))
    assert campaign not in selectors.campaigns_for(principal_for(neighbour))
    with pytest.raises(Http404):
        selectors.get_campaign(principal_for(neighbour), campaign.code, Cap.VIEW_SCREENING_PROGRESS)
    # a head teacher sees the school's campaign but may not manage it
    with pytest.raises(PermissionDenied):
        selectors.get_campaign(
            principal_for(school.head_c1), school.campaign.code, Cap.MANAGE_CAMPAIGNS
        )


@pytest.mark.xfail(
    strict=True,
    reason="campaigns_for matches listed students by their school's path, so a head teacher "
    "(whose area is a class) never sees a campaign that lists a student of their class",
)
def test_the_head_teacher_sees_a_campaign_listing_a_student_of_their_class(school):
    campaign = CampaignFactory(owner_unit=school.district, units=[], students=[school.in_c1[0]])
    services.open_campaign(actor=None, campaign=campaign)
    assert campaign in selectors.campaigns_for(principal_for(school.head_c1))


def test_a_campaign_with_assignments_finished_is_still_readable_when_closed(school):
    answer(assignment(school.campaign, school.in_c1[0]))
    services.close_campaign(actor=None, campaign=school.campaign)
    principal = principal_for(school.psych)
    assert selectors.get_campaign(principal, school.campaign.code, Cap.VIEW_SCREENING_RESULTS)
    [row] = selectors.school_results(principal, school.campaign, school.unit)
    assert row.assignment.status == AssignmentStatus.COMPLETED


# --- the scoped getters of the views --------------------------------------------------------------


def test_get_class_get_assignment_and_get_sitting_refuse_per_role(school):
    campaign = school.campaign
    stranger = principal_for(
        StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=SchoolFactory()).user
    )
    head, psych = principal_for(school.head_c1), principal_for(school.psych)
    # a class: outside every area 404; inside the school but another class's teacher 403
    assert selectors.get_class(head, campaign, school.c1.code, Cap.RUN_SITTINGS) == school.c1
    with pytest.raises(Http404):
        selectors.get_class(stranger, campaign, school.c1.code, Cap.RUN_SITTINGS)
    with pytest.raises(Http404):
        selectors.get_class(head, campaign, school.c2.code, Cap.RUN_SITTINGS)
    with pytest.raises(PermissionDenied):
        selectors.get_class(
            principal_for(school.district_admin), campaign, school.c1.code, Cap.RUN_SITTINGS
        )
    # an assignment: the head teacher sees the student but may not manage assignments
    student = school.in_c1[0]
    assert selectors.get_assignment(psych, campaign, student.code).student == student
    with pytest.raises(PermissionDenied):
        selectors.get_assignment(head, campaign, student.code)
    with pytest.raises(Http404):
        selectors.get_assignment(stranger, campaign, student.code)
    # a sitting of c1: its head teacher and the school's psychology teacher only
    sitting = services.open_sitting(actor=school.psych, campaign=campaign, school_class=school.c1)
    assert selectors.get_sitting(head, sitting.key) == sitting
    assert selectors.get_sitting(psych, sitting.key) == sitting
    with pytest.raises(Http404):
        selectors.get_sitting(stranger, sitting.key)
    with pytest.raises(PermissionDenied):
        selectors.get_sitting(principal_for(school.district_admin), sitting.key)
