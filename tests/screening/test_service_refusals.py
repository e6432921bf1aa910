"""What the screening services refuse, and what a refusal leaves behind: campaign creation and
lifecycle steps, battery edits, consent, absences and re-sits, sittings."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from tests.factories import (
    CampaignFactory,
    ClassFactory,
    GradeFactory,
    SchoolFactory,
    StaffFactory,
    StationFactory,
    StudentFactory,
)
from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.people.models import StudentStatus
from xinqiao.screening import services
from xinqiao.screening.models import (
    Assignment,
    AssignmentStatus,
    BatteryEntry,
    CampaignStatus,
    Consent,
    ConsentBasis,
)

from .test_campaign import answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    """A junior school with class c1 (two students) and an empty class, its psychology teacher,
    c1's head teacher, and a draft campaign of the school."""
    grade = GradeFactory()
    s = SimpleNamespace(unit=grade.parent, district=grade.parent.parent)
    s.c1, s.empty = ClassFactory(parent=grade), ClassFactory(parent=grade)
    s.first, s.second = StudentFactory(school_class=s.c1), StudentFactory(school_class=s.c1)
    s.psych = StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=s.unit).user
    s.head = StaffFactory(role=Role.HEAD_TEACHER, org_unit=s.unit, role_unit=s.c1).user
    s.campaign = CampaignFactory(owner_unit=s.unit)
    return s


def opened(s):
    services.open_campaign(actor=s.psych, campaign=s.campaign)
    s.campaign.refresh_from_db()
    return s.campaign


def assignment(s, student) -> Assignment:
    return Assignment.objects.get(campaign=s.campaign, student=student, resit_of=None)


def events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- creating a campaign -------------------------------------------------------------------------


def test_a_campaign_must_close_after_it_opens(school):
    now = timezone.now()
    with pytest.raises(DomainError) as exc:
        CampaignFactory(owner_unit=school.unit, opens_at=now, closes_at=now)
    assert exc.value.field == "closes_at"


def test_a_campaign_must_cover_units_or_students(school):
    with pytest.raises(DomainError) as exc:
        CampaignFactory(owner_unit=school.unit, units=[])
    assert exc.value.field == "units"


def test_a_station_cannot_be_covered(school):
    station = StationFactory(parent=school.district)
    with pytest.raises(DomainError):
        CampaignFactory(owner_unit=school.district, units=[station])


def test_a_listed_student_must_be_inside_the_owner(school):
    outsider = StudentFactory(
        school_class=ClassFactory(parent=GradeFactory(parent=SchoolFactory()))
    )
    with pytest.raises(DomainError) as exc:
        CampaignFactory(owner_unit=school.unit, units=[], students=[outsider])
    assert exc.value.field == "students"


def test_an_unknown_school_stage_in_the_battery_is_refused(school):
    with pytest.raises(DomainError) as exc:
        CampaignFactory(owner_unit=school.unit, battery={"university": ["PHQ-A"]})
    assert exc.value.field == "battery"


# --- lifecycle -----------------------------------------------------------------------------------


def test_a_campaign_without_instruments_cannot_open(school):
    empty = CampaignFactory(owner_unit=school.unit, battery={"junior": []})
    with pytest.raises(DomainError):
        services.open_campaign(actor=school.psych, campaign=empty)
    empty.refresh_from_db()
    assert empty.status == CampaignStatus.DRAFT
    assert not Assignment.objects.filter(campaign=empty).exists()


def test_a_refused_second_opening_creates_no_second_set_of_assignments(school):
    assert services.open_campaign(actor=school.psych, campaign=school.campaign) == 2
    with pytest.raises(DomainError):
        services.open_campaign(actor=school.psych, campaign=school.campaign)
    assert Assignment.objects.filter(campaign=school.campaign).count() == 2
    assert events("screening.campaign.opened") == 1


def test_closing_closes_the_open_sittings_and_cannot_be_repeated(school):
    campaign = opened(school)
    sitting = services.open_sitting(actor=school.head, campaign=campaign, school_class=school.c1)
    services.close_campaign(actor=school.psych, campaign=campaign)
    sitting.refresh_from_db()
    assert sitting.closed_at is not None
    event = AuditEvent.objects.get(action="screening.campaign.closed")
    assert event.fields["sittings_closed"] == 1
    with pytest.raises(DomainError):
        services.close_campaign(actor=school.psych, campaign=campaign)
    with pytest.raises(DomainError):
        services.open_campaign(actor=school.psych, campaign=campaign)
    services.archive_campaign(actor=school.psych, campaign=campaign)
    with pytest.raises(DomainError):
        services.archive_campaign(actor=school.psych, campaign=campaign)


def test_another_schools_teacher_cannot_close_or_archive(school):
    campaign = opened(school)
    stranger = StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=SchoolFactory()).user
    with pytest.raises(DomainError):
        services.close_campaign(actor=stranger, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.OPEN


# --- the battery ---------------------------------------------------------------------------------


def test_a_draft_battery_change_is_audited(school):
    entries = services.set_battery(
        actor=school.psych, campaign=school.campaign, battery={"junior": ["GAD-7", "PHQ-A"]}
    )
    assert [(e.instrument_code, e.position) for e in entries] == [("GAD-7", 0), ("PHQ-A", 1)]
    event = AuditEvent.objects.get(action="screening.battery.changed")
    assert event.fields["battery"] == ["junior:GAD-7@1.0", "junior:PHQ-A@1.0"]


def test_a_closed_campaigns_battery_cannot_change(school):
    campaign = opened(school)
    services.close_campaign(actor=school.psych, campaign=campaign)
    before = list(BatteryEntry.objects.filter(campaign=campaign).values_list("pk", flat=True))
    with pytest.raises(DomainError):
        services.set_battery(actor=school.psych, campaign=campaign, battery={"junior": ["GAD-7"]})
    assert list(BatteryEntry.objects.filter(campaign=campaign).values_list("pk", flat=True)) == (
        before
    )


def test_a_bad_battery_edit_leaves_the_draft_battery_as_it_was(school):
    before = sorted(
        BatteryEntry.objects.filter(campaign=school.campaign).values_list("instrument_code", "pk")
    )
    for battery in ({"junior": ["NOPE"]}, {"junior": ["PSC-17"]}):
        with pytest.raises(DomainError):
            services.set_battery(actor=school.psych, campaign=school.campaign, battery=battery)
    stranger = StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=SchoolFactory()).user
    with pytest.raises(DomainError):
        services.set_battery(actor=stranger, campaign=school.campaign, battery={"junior": ["ASQ"]})
    after = sorted(
        BatteryEntry.objects.filter(campaign=school.campaign).values_list("instrument_code", "pk")
    )
    assert after == before
    assert events("screening.battery.changed") == 0


# --- consent -------------------------------------------------------------------------------------


def test_consent_is_refused_once_the_campaign_is_closed(school):
    campaign = opened(school)
    services.close_campaign(actor=school.psych, campaign=campaign)
    with pytest.raises(DomainError):
        services.record_consents(
            actor=school.psych, campaign=campaign, students=[school.first], granted=False
        )
    assert not Consent.objects.exists()


def test_recording_consent_again_updates_the_one_record(school):
    campaign = CampaignFactory(owner_unit=school.unit, consent_basis=ConsentBasis.GUARDIAN_CONSENT)
    services.record_consents(
        actor=school.head, campaign=campaign, students=[school.first], granted=False
    )
    services.record_consents(
        actor=school.psych,
        campaign=campaign,
        students=[school.first, school.second],
        granted=True,
        note="家长会签字",
    )
    consents = Consent.objects.filter(campaign=campaign).order_by("student_id")
    assert [(c.student, c.granted, c.recorded_by, c.note) for c in consents] == [
        (school.first, True, school.psych, "家长会签字"),
        (school.second, True, school.psych, "家长会签字"),
    ]
    assert {c.basis for c in consents} == {ConsentBasis.GUARDIAN_CONSENT}


def test_consent_for_students_partly_outside_ones_class_records_nothing(school):
    other_class = ClassFactory(parent=school.c1.parent)
    outsider = StudentFactory(school_class=other_class)
    campaign = opened(school)
    with pytest.raises(DomainError):
        services.record_consents(
            actor=school.head, campaign=campaign, students=[school.first, outsider], granted=False
        )
    assert not Consent.objects.exists()
    assert assignment(school, school.first).status == AssignmentStatus.ASSIGNED


def test_a_consent_recorded_while_a_draft_applies_when_it_opens(school):
    services.record_consents(
        actor=school.head, campaign=school.campaign, students=[school.second], granted=False
    )
    assert not Assignment.objects.filter(campaign=school.campaign).exists()
    campaign = opened(school)
    statuses = dict(
        Assignment.objects.filter(campaign=campaign).values_list("student_id", "status")
    )
    assert statuses == {
        school.first.pk: AssignmentStatus.ASSIGNED,
        school.second.pk: AssignmentStatus.NO_CONSENT,
    }
    # the objection withdrawn (statutory duty): the questionnaire is released again
    services.record_consents(
        actor=school.head, campaign=campaign, students=[school.second], granted=True
    )
    assert assignment(school, school.second).status == AssignmentStatus.ASSIGNED


# --- absences and re-sits ------------------------------------------------------------------------


def test_only_an_unfinished_student_of_an_open_campaign_can_be_marked_absent(school):
    campaign = opened(school)
    done = assignment(school, school.first)
    answer(done)
    with pytest.raises(DomainError):
        services.mark_absent(actor=school.psych, assignment=done)
    away = services.mark_absent(actor=school.psych, assignment=assignment(school, school.second))
    with pytest.raises(DomainError):
        services.mark_absent(actor=school.psych, assignment=away)
    services.close_campaign(actor=school.psych, campaign=campaign)
    with pytest.raises(DomainError):
        services.assign_resit(actor=school.psych, assignment=away)
    assert events("screening.assignment.marked_absent") == 1


def test_no_resit_for_a_student_without_consent_or_suspended(school):
    school.second.status = StudentStatus.SUSPENDED
    school.second.save(update_fields=["status"])
    services.record_consents(
        actor=school.head, campaign=school.campaign, students=[school.first], granted=False
    )
    opened(school)
    for student in (school.first, school.second):
        with pytest.raises(DomainError):
            services.assign_resit(actor=school.psych, assignment=assignment(school, student))
    assert not Assignment.objects.filter(resit_of__isnull=False).exists()


def test_a_resit_of_a_resit_links_to_the_first_sitting(school):
    opened(school)
    original = services.mark_absent(actor=school.psych, assignment=assignment(school, school.first))
    resit = services.assign_resit(actor=school.psych, assignment=original)
    services.mark_absent(actor=school.psych, assignment=resit)
    again = services.assign_resit(actor=school.psych, assignment=resit)
    assert again.resit_of == original
    assert again.link_token != resit.link_token


def test_a_resit_with_an_unknown_instrument_is_refused(school):
    opened(school)
    away = services.mark_absent(actor=school.psych, assignment=assignment(school, school.first))
    with pytest.raises(DomainError):
        services.assign_resit(actor=school.psych, assignment=away, instruments=["PHQ-A", "NOPE"])
    assert not Assignment.objects.filter(resit_of=away).exists()


def test_a_head_teacher_cannot_mark_absent_or_give_a_resit(school):
    opened(school)
    a = assignment(school, school.first)
    with pytest.raises(DomainError):
        services.mark_absent(actor=school.head, assignment=a)
    with pytest.raises(DomainError):
        services.assign_resit(actor=school.head, assignment=a)


# --- sittings ------------------------------------------------------------------------------------


def test_a_sitting_is_for_one_class_with_students_of_an_open_campaign(school):
    with pytest.raises(DomainError):  # still a draft
        services.open_sitting(actor=school.psych, campaign=school.campaign, school_class=school.c1)
    campaign = opened(school)
    for unit in (school.c1.parent, school.empty):  # a grade; a class nobody in it takes part
        with pytest.raises(DomainError):
            services.open_sitting(actor=school.psych, campaign=campaign, school_class=unit)
    other = ClassFactory(parent=school.c1.parent)
    StudentFactory(school_class=other)
    with pytest.raises(DomainError):  # the head teacher of c1 only
        services.open_sitting(actor=school.head, campaign=campaign, school_class=other)


def test_a_sitting_lasts_5_to_240_minutes_and_never_past_the_campaign(school):
    campaign = opened(school)
    short = services.open_sitting(
        actor=school.head, campaign=campaign, school_class=school.c1, minutes=1
    )
    assert short.closes_at - short.opened_at == datetime.timedelta(minutes=5)
    long = services.open_sitting(
        actor=school.head, campaign=campaign, school_class=school.c1, minutes=600
    )
    assert long.closes_at - long.opened_at == datetime.timedelta(minutes=240)
    soon = CampaignFactory(
        owner_unit=school.unit, closes_at=timezone.now() + datetime.timedelta(minutes=30)
    )
    services.open_campaign(actor=school.psych, campaign=soon)
    soon.refresh_from_db()
    capped = services.open_sitting(actor=school.head, campaign=soon, school_class=school.c1)
    assert capped.closes_at == soon.closes_at


def test_no_sitting_after_the_campaigns_window(school):
    now = timezone.now()
    ended = CampaignFactory(
        owner_unit=school.unit,
        opens_at=now - datetime.timedelta(days=2),
        closes_at=now - datetime.timedelta(days=1),
    )
    services.open_campaign(actor=school.psych, campaign=ended)
    ended.refresh_from_db()
    with pytest.raises(DomainError):
        services.open_sitting(actor=school.head, campaign=ended, school_class=school.c1)


def test_closing_a_sitting_twice_records_one_event(school):
    campaign = opened(school)
    sitting = services.open_sitting(actor=school.head, campaign=campaign, school_class=school.c1)
    first = services.close_sitting(actor=school.head, sitting=sitting).closed_at
    assert services.close_sitting(actor=school.head, sitting=sitting).closed_at == first
    assert events("screening.sitting.closed") == 1
    stranger = StaffFactory(role=Role.HEAD_TEACHER, org_unit=school.unit, role_unit=school.empty)
    with pytest.raises(DomainError):
        services.close_sitting(actor=stranger.user, sitting=sitting)


def test_no_resit_after_an_objection_recorded_while_absent(school):
    campaign = opened(school)
    away = services.mark_absent(actor=school.psych, assignment=assignment(school, school.first))
    services.record_consents(
        actor=school.head, campaign=campaign, students=[school.first], granted=False
    )
    with pytest.raises(DomainError):
        services.assign_resit(actor=school.psych, assignment=away)
