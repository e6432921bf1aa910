"""Special-period sweeps (R7), incidents and group sessions (R8)."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import (
    Case,
    GroupSession,
    Incident,
    Sweep,
    SweepReview,
)
from xinqiao.cases.selectors import schooling as sel
from xinqiao.cases.services import sweeps as services
from xinqiao.core.errors import DomainError
from xinqiao.people.services import create_student
from xinqiao.screening.models import Assignment, Campaign, CampaignStatus

NUMBERS = iter(range(100000, 999999))


def key() -> str:
    """A fresh form key, as the create forms put in their hidden field."""
    return uuid.uuid4().hex


def add_student(world, cls, name="学生"):
    return create_student(
        actor=None,
        student_number=f"G{next(NUMBERS):017d}X",
        name=name,
        gender="F",
        birth_date=datetime.date(2013, 5, 5),
        school_class=cls,
        term=world.term,
    )


def open_case(world, student, *, school=None, status="open", level="yellow"):
    now = timezone.now()
    return Case.objects.create(
        student=student,
        school=school or student.school,
        level=level,
        level_since=now,
        status=status,
        owner=world.psych,
        opened_at=now,
        opened_by=world.psych,
    )


def start(world, **kw):
    args = {
        "actor": world.psych,
        "school": world.school_a,
        "kind": "exam_season",
        "title": "2027中考前排查",
        "review_by": timezone.localdate() + datetime.timedelta(days=10),
        "client_key": key(),
    }
    args.update(kw)
    return services.start_sweep(**args)


# --- sweeps -----------------------------------------------------------------------------------


def test_sweep_creates_one_review_per_open_case_of_the_school(world):
    a1_case = open_case(world, world.stu_a1, level="red")
    open_case(world, world.stu_b1)  # school B: not in A's sweep
    closed = open_case(world, add_student(world, world.class_a1), status="closed")

    sweep = start(world)

    reviewed = set(SweepReview.objects.filter(sweep=sweep).values_list("case_id", flat=True))
    assert reviewed == {world.case_a2.pk, a1_case.pk}
    assert closed.pk not in reviewed
    assert sel.sweep_progress(sweep) == {"total": 2, "reviewed": 0, "percent": 0}
    event = AuditEvent.objects.get(action="cases.sweep.started")
    assert event.fields["cases"] == 2
    assert event.school_id == world.school_a.pk
    assert sweep.campaign is None


def _sweep_queries(world) -> int:
    with CaptureQueriesContext(connection) as ctx:
        start(world, title=f"排查 {Sweep.objects.count()}")
    return len(ctx.captured_queries)


def test_sweep_is_set_based(world):
    few = _sweep_queries(world)
    for i in range(40):
        open_case(world, add_student(world, world.class_a1, name=f"学生{i}"))
    many = _sweep_queries(world)
    assert many == few
    latest = Sweep.objects.order_by("-id").first()
    assert SweepReview.objects.filter(sweep=latest).count() == 41


def test_sweep_can_rescreen_chosen_classes_and_students(world):
    extra_a1 = add_student(world, world.class_a1)
    sweep = start(world, rescreen_classes=[world.class_a1], rescreen_students=[world.stu_a2])

    campaign = Campaign.objects.get(pk=sweep.campaign_id)
    assert campaign.kind == "exam_season"
    assert campaign.status == CampaignStatus.OPEN
    assert campaign.owner_unit == world.school_a
    assigned = set(
        Assignment.objects.filter(campaign=campaign).values_list("student_id", flat=True)
    )
    assert assigned == {world.stu_a1.pk, extra_a1.pk, world.stu_a2.pk}
    assert AuditEvent.objects.filter(action="screening.campaign.opened").count() == 2


def test_holiday_sweep_rescreen_needs_a_kind(world):
    with pytest.raises(DomainError) as exc:
        start(world, kind="holiday", rescreen_classes=[world.class_a1])
    assert exc.value.field == "campaign_kind"
    sweep = start(
        world, kind="holiday", rescreen_classes=[world.class_a1], campaign_kind="term_start"
    )
    assert sweep.campaign.kind == "term_start"


def test_sweep_refuses_a_class_of_another_school(world):
    with pytest.raises(DomainError):
        start(world, rescreen_classes=[world.class_b1])
    assert not Sweep.objects.exists()


def test_sweep_refuses_a_past_review_date(world):
    with pytest.raises(DomainError) as exc:
        start(world, review_by=timezone.localdate() - datetime.timedelta(days=1))
    assert exc.value.field == "review_by"


@pytest.mark.parametrize("who", ["psych_b", "school_admin", "station_counsellor", "head_teacher"])
def test_sweep_only_by_the_schools_psychology_teacher(world, who):
    with pytest.raises(PermissionDenied):
        start(world, actor=getattr(world, who))
    assert not Sweep.objects.exists()


def test_repeated_client_key_starts_one_sweep(world):
    first = start(world, client_key="sweep-key-1")
    assert start(world, client_key="sweep-key-1") == first
    assert Sweep.objects.count() == 1
    assert SweepReview.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.sweep.started").count() == 1


def test_two_keys_with_the_same_fields_start_two_sweeps(world):
    assert start(world) != start(world)  # same school, kind, title and date; two submits
    assert Sweep.objects.count() == 2
    assert AuditEvent.objects.filter(action="cases.sweep.started").count() == 2


def test_client_key_of_another_schools_sweep_is_refused(world):
    theirs = start(world, actor=world.psych_b, school=world.school_b, client_key="shared-key")
    with pytest.raises(DomainError, match="form has expired"):
        start(world, client_key="shared-key")
    assert list(Sweep.objects.all()) == [theirs]


@pytest.mark.parametrize("bad", ["", "  ", "k" * 65])
def test_sweep_needs_a_client_key(world, bad):
    with pytest.raises(DomainError, match="form has expired"):
        start(world, client_key=bad)
    assert not Sweep.objects.exists()


def test_review_a_case_in_the_sweep(world):
    sweep = start(world)
    review = sel.get_sweep_review(sweep=sweep, case_code=world.case_a2.code)
    services.review_sweep_case(review, actor=world.psych, note="考前情绪稳定，维持每周随访")
    review.refresh_from_db()
    assert review.reviewed_by == world.psych
    assert review.note == "考前情绪稳定，维持每周随访"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT note FROM {SweepReview._meta.db_table} WHERE id = %s",  # noqa: S608
            [review.pk],
        )
        assert "情绪" not in cursor.fetchone()[0]
    assert sel.sweep_progress(sweep) == {"total": 1, "reviewed": 1, "percent": 100}
    with pytest.raises(DomainError, match="already been reviewed"):
        services.review_sweep_case(review, actor=world.psych, note="again")
    assert AuditEvent.objects.filter(action="cases.sweep_review.recorded").count() == 1


def test_review_needs_a_note_and_the_school(world):
    sweep = start(world)
    review = SweepReview.objects.get(sweep=sweep)
    with pytest.raises(DomainError):
        services.review_sweep_case(review, actor=world.psych, note=" ")
    with pytest.raises(PermissionDenied):
        services.review_sweep_case(review, actor=world.psych_b, note="x")


# --- incidents --------------------------------------------------------------------------------


def record(world, **kw):
    args = {
        "actor": world.psych,
        "school": world.school_a,
        "title": "七年级校外意外事件",
        "occurred_on": timezone.localdate(),
        "description": "一名同学在校外发生意外，同班同学目睹",
        "classes": [world.class_a1],
        "students": [world.stu_a2],
        "client_key": key(),
    }
    args.update(kw)
    return services.record_incident(**args)


def test_incident_affected_group_is_the_classes_and_the_list(world):
    extra = add_student(world, world.class_a1)
    incident = record(world)
    assert set(incident.affected.values_list("pk", flat=True)) == {
        world.stu_a1.pk,
        extra.pk,
        world.stu_a2.pk,
    }
    event = AuditEvent.objects.get(action="cases.incident.recorded")
    assert event.fields["affected"] == 3
    assert "意外" not in str(event.fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT description FROM {Incident._meta.db_table}"  # noqa: S608
        )
        assert "意外" not in cursor.fetchone()[0]


def test_incident_campaign_is_assigned_exactly_to_the_affected(world):
    add_student(world, world.class_a2)  # same school, not affected
    incident = record(
        world,
        classes=[],
        students=[world.stu_a1],
        start_campaign=True,
        campaign_closes_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    incident.refresh_from_db()
    campaign = incident.campaign
    assert campaign.kind == "incident"
    assert campaign.status == CampaignStatus.OPEN
    assert "七年级" not in campaign.name  # the incident's title stays out of the campaign name
    assigned = list(
        Assignment.objects.filter(campaign=campaign).values_list("student_id", flat=True)
    )
    assert assigned == [world.stu_a1.pk]
    assert AuditEvent.objects.filter(action="cases.incident.campaign_started").count() == 1


def test_incident_campaign_later_and_only_once(world):
    incident = record(world)
    closes = timezone.localdate() + datetime.timedelta(days=7)
    campaign = services.start_incident_campaign(incident, actor=world.psych, closes_on=closes)
    assigned = set(
        Assignment.objects.filter(campaign=campaign).values_list("student_id", flat=True)
    )
    assert assigned == set(incident.affected.values_list("pk", flat=True))
    with pytest.raises(DomainError, match="already has"):
        services.start_incident_campaign(incident, actor=world.psych, closes_on=closes)
    with pytest.raises(PermissionDenied):
        services.start_incident_campaign(
            record(world, title="另一"), actor=world.psych_b, closes_on=closes
        )


def test_repeated_client_key_records_one_incident(world):
    first = record(world, client_key="incident-key-1")
    assert record(world, client_key="incident-key-1") == first
    assert Incident.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.incident.recorded").count() == 1


def test_two_keys_with_the_same_fields_record_two_incidents(world):
    assert record(world) != record(world)
    assert Incident.objects.count() == 2
    assert AuditEvent.objects.filter(action="cases.incident.recorded").count() == 2


def test_client_key_of_another_schools_incident_is_refused(world):
    theirs = record(
        world,
        actor=world.psych_b,
        school=world.school_b,
        classes=[world.class_b1],
        students=[],
        client_key="shared-key",
    )
    with pytest.raises(DomainError, match="form has expired"):
        record(world, client_key="shared-key")
    assert list(Incident.objects.all()) == [theirs]


def test_incident_refuses_students_of_another_school(world):
    with pytest.raises(DomainError):
        record(world, classes=[], students=[world.stu_b1])
    with pytest.raises(DomainError):
        record(world, classes=[world.class_b1], students=[])
    assert not Incident.objects.exists()


def test_incident_needs_someone_affected_and_a_description(world):
    with pytest.raises(DomainError) as exc:
        record(world, classes=[], students=[])
    assert exc.value.field == "classes"
    with pytest.raises(DomainError) as exc:
        record(world, description="")
    assert exc.value.field == "description"
    with pytest.raises(DomainError) as exc:
        record(world, occurred_on=timezone.localdate() + datetime.timedelta(days=1))
    assert exc.value.field == "occurred_on"


@pytest.mark.parametrize("who", ["psych_b", "school_admin", "head_teacher", "station_counsellor"])
def test_incident_only_by_the_schools_psychology_teacher(world, who):
    with pytest.raises(PermissionDenied):
        record(world, actor=getattr(world, who))


def test_group_session_participants_come_from_the_affected_group(world):
    incident = record(world, classes=[], students=[world.stu_a1, world.stu_a2])
    held = timezone.now() - datetime.timedelta(hours=2)
    with pytest.raises(DomainError) as exc:
        services.record_group_session(
            incident,
            actor=world.psych,
            held_at=held,
            facilitator=world.psych,
            topic="哀伤辅导",
            participants=[world.stu_a1, world.stu_b1],
            client_key=key(),
        )
    assert exc.value.field == "participants"
    with pytest.raises(DomainError) as exc:
        services.record_group_session(
            incident,
            actor=world.psych,
            held_at=held,
            facilitator=world.psych_b,
            topic="哀伤辅导",
            participants=[world.stu_a1],
            client_key=key(),
        )
    assert exc.value.field == "facilitator"
    session = services.record_group_session(
        incident,
        actor=world.psych,
        held_at=held,
        facilitator=world.station_counsellor,
        topic="哀伤辅导",
        participants=[world.stu_a1, world.stu_a2],
        client_key=key(),
        note="情绪宣泄，约定下周再聚",
    )
    assert set(session.participants.values_list("pk", flat=True)) == {
        world.stu_a1.pk,
        world.stu_a2.pk,
    }
    assert GroupSession.objects.count() == 1
    assert AuditEvent.objects.get(action="cases.group_session.recorded").fields["participants"] == 2
    with pytest.raises(PermissionDenied):
        services.record_group_session(
            incident,
            actor=world.psych_b,
            held_at=held,
            facilitator=world.psych,
            topic="x",
            participants=[world.stu_a1],
            client_key=key(),
        )


def session(world, incident, **kw):
    args = {
        "actor": world.psych,
        "held_at": timezone.now() - datetime.timedelta(hours=2),
        "facilitator": world.psych,
        "topic": "哀伤辅导",
        "participants": [world.stu_a2],
        "client_key": key(),
    }
    args.update(kw)
    return services.record_group_session(incident, **args)


def test_repeated_client_key_records_one_group_session(world):
    incident = record(world)
    first = session(world, incident, client_key="session-key-1")
    assert session(world, incident, client_key="session-key-1") == first
    assert GroupSession.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.group_session.recorded").count() == 1


def test_two_keys_with_the_same_fields_record_two_group_sessions(world):
    incident = record(world)
    held = timezone.now() - datetime.timedelta(hours=1)
    assert session(world, incident, held_at=held) != session(world, incident, held_at=held)
    assert GroupSession.objects.count() == 2
    assert AuditEvent.objects.filter(action="cases.group_session.recorded").count() == 2


def test_client_key_of_another_schools_group_session_is_refused(world):
    incident_b = record(
        world, actor=world.psych_b, school=world.school_b, classes=[world.class_b1], students=[]
    )
    theirs = session(
        world,
        incident_b,
        actor=world.psych_b,
        facilitator=world.psych_b,
        participants=[world.stu_b1],
        client_key="shared-key",
    )
    with pytest.raises(DomainError, match="form has expired"):
        session(world, record(world), client_key="shared-key")
    assert list(GroupSession.objects.all()) == [theirs]


# --- views ------------------------------------------------------------------------------------


def test_sweep_pages(world, client_for):
    client = client_for(world.psych)
    assert client.get(reverse("cases:sweep-list")).status_code == 200
    assert client.get(reverse("cases:sweep-create")).status_code == 200
    review_by = (timezone.localdate() + datetime.timedelta(days=5)).isoformat()
    response = client.post(
        reverse("cases:sweep-create"),
        {
            "school": world.school_a.pk,
            "kind": "exam_season",
            "title": "期中考试排查",
            "review_by": review_by,
            "rescreen_classes": [world.class_a2.pk],
            "rescreen_numbers": world.stu_a1.student_number,
            "client_key": key(),
        },
    )
    assert response.status_code == 302
    sweep = Sweep.objects.get()
    assert set(
        Assignment.objects.filter(campaign=sweep.campaign).values_list("student_id", flat=True)
    ) == {world.stu_a1.pk, world.stu_a2.pk}
    detail = reverse("cases:sweep-detail", kwargs={"code": sweep.code})
    body = client.get(detail).content.decode()
    assert "0 of 1 cases reviewed" in body
    review_url = reverse(
        "cases:sweep-review", kwargs={"code": sweep.code, "case": world.case_a2.code}
    )
    assert client.post(review_url, {"note": "稳定"}).status_code == 302
    body = client.get(detail).content.decode()
    assert "1 of 1 cases reviewed" in body
    assert "稳定" in body
    assert AuditEvent.objects.filter(action="cases.sweep.viewed").count() == 1
    listing = client.get(reverse("cases:sweep-list")).content.decode()
    assert "期中考试排查" in listing
    assert "1 / 1" in listing

    other = client_for(world.psych_b)
    assert other.get(detail).status_code == 404
    assert other.post(review_url, {"note": "x"}).status_code == 404
    assert "期中考试排查" not in other.get(reverse("cases:sweep-list")).content.decode()
    for user in (world.school_admin, world.head_teacher, world.station_counsellor):
        assert client_for(user).get(detail).status_code == 403
        assert client_for(user).get(reverse("cases:sweep-list")).status_code == 403


def test_sweep_form_double_submit_starts_one_sweep(world, client_for):
    client = client_for(world.psych)
    page = client.get(reverse("cases:sweep-create")).content.decode()
    assert 'name="client_key"' in page
    data = {
        "school": world.school_a.pk,
        "kind": "exam_season",
        "title": "期中考试排查",
        "review_by": (timezone.localdate() + datetime.timedelta(days=5)).isoformat(),
        "client_key": key(),
    }
    first = client.post(reverse("cases:sweep-create"), data)
    second = client.post(reverse("cases:sweep-create"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Sweep.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.sweep.started").count() == 1


def test_create_forms_carry_a_client_key(world, client_for):
    client = client_for(world.psych)
    incident = record(world)
    for url in (
        reverse("cases:incident-create"),
        reverse("cases:group-session-create", kwargs={"code": incident.code}),
    ):
        assert 'name="client_key"' in client.get(url).content.decode()


def test_sweep_form_reports_unknown_student_numbers(world, client_for):
    response = client_for(world.psych).post(
        reverse("cases:sweep-create"),
        {
            "school": world.school_a.pk,
            "kind": "exam_season",
            "title": "期中考试排查",
            "review_by": (timezone.localdate() + datetime.timedelta(days=5)).isoformat(),
            "rescreen_numbers": world.stu_b1.student_number,
            "client_key": key(),
        },
    )
    assert response.status_code == 200
    assert "Not found among the school" in response.content.decode()
    assert not Sweep.objects.exists()


def test_sweep_form_cannot_pick_another_school(world, client_for):
    response = client_for(world.psych).post(
        reverse("cases:sweep-create"),
        {
            "school": world.school_b.pk,
            "kind": "exam_season",
            "title": "x",
            "review_by": (timezone.localdate() + datetime.timedelta(days=5)).isoformat(),
            "client_key": key(),
        },
    )
    assert response.status_code == 200
    assert not Sweep.objects.exists()


def test_incident_pages(world, client_for):
    client = client_for(world.psych)
    assert client.get(reverse("cases:incident-list")).status_code == 200
    assert client.get(reverse("cases:incident-create")).status_code == 200
    response = client.post(
        reverse("cases:incident-create"),
        {
            "school": world.school_a.pk,
            "title": "运动会意外",
            "occurred_on": timezone.localdate().isoformat(),
            "description": "跑道上摔伤，多名同学目睹",
            "classes": [world.class_a1.pk],
            "student_numbers": world.stu_a2.student_number,
            "start_campaign": "on",
            "campaign_closes_on": (timezone.localdate() + datetime.timedelta(days=7)).isoformat(),
            "client_key": key(),
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert set(
        Assignment.objects.filter(campaign=incident.campaign).values_list("student_id", flat=True)
    ) == {world.stu_a1.pk, world.stu_a2.pk}
    detail = reverse("cases:incident-detail", kwargs={"code": incident.code})
    body = client.get(detail).content.decode()
    assert "跑道上摔伤" in body
    assert AuditEvent.objects.filter(action="cases.incident.viewed").count() == 1

    session_url = reverse("cases:group-session-create", kwargs={"code": incident.code})
    assert client.get(session_url).status_code == 200
    held = timezone.localtime() - datetime.timedelta(hours=1)
    response = client.post(
        session_url,
        {
            "held_at": held.strftime("%Y-%m-%dT%H:%M"),
            "facilitator": world.psych.pk,
            "topic": "安抚疏导",
            "participants": [world.stu_a1.pk],
            "note": "",
            "client_key": key(),
        },
    )
    assert response.status_code == 302
    assert GroupSession.objects.get().topic == "安抚疏导"
    assert "安抚疏导" in client.get(detail).content.decode()

    other = client_for(world.psych_b)
    assert other.get(detail).status_code == 404
    assert other.get(session_url).status_code == 404
    assert "运动会意外" not in other.get(reverse("cases:incident-list")).content.decode()
    for user in (world.school_admin, world.head_teacher, world.parent):
        assert client_for(user).get(detail).status_code == 403
        assert client_for(user).get(reverse("cases:incident-create")).status_code == 403


def test_incident_campaign_action(world, client_for):
    incident = record(world)
    url = reverse("cases:incident-campaign", kwargs={"code": incident.code})
    closes = (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    assert client_for(world.psych_b).post(url, {"closes_on": closes}).status_code == 404
    assert client_for(world.school_admin).post(url, {"closes_on": closes}).status_code == 403
    assert client_for(world.psych).post(url, {"closes_on": closes}).status_code == 302
    incident.refresh_from_db()
    assert incident.campaign is not None


def test_incident_list_query_count_does_not_grow(world, client_for):
    client = client_for(world.psych)
    record(world, title="一")
    client.get(reverse("cases:incident-list"))  # per-process caches (rule sets) load once
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("cases:incident-list"))
    for i in range(5):
        record(world, title=f"事件{i}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("cases:incident-list"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_sweep_list_query_count_does_not_grow(world, client_for):
    client = client_for(world.psych)
    start(world, title="一")
    client.get(reverse("cases:sweep-list"))  # per-process caches (rule sets) load once
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("cases:sweep-list"))
    for i in range(5):
        start(world, title=f"排查{i}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("cases:sweep-list"))
    assert len(many.captured_queries) == len(few.captured_queries)
