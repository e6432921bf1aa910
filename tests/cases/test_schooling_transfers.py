"""Transfer of an open case to the student's new school, only through the district station.

Personas: psych (school A, sends), psych_b (school B in district B, receives), the station of
district B (forwards), the station of district A (must not forward a transfer to district B).
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import principal_for
from xinqiao.access.services import create_staff
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import (
    Case,
    CaseTeamMember,
    CaseTransfer,
    ChangeKind,
    LevelChange,
    TransferStatus,
)
from xinqiao.cases.selectors import schooling as sel
from xinqiao.cases.selectors.common import get_case, visible_cases
from xinqiao.cases.services import transfers as services
from xinqiao.core.errors import DomainError
from xinqiao.notifications.models import Notification
from xinqiao.orgs.services import create_unit
from xinqiao.people.services import create_student, move_student

PASSWORD = "Xq-test-Passw0rd!"
NOTE = "李小红：橙色，住院一次，母亲配合，每周随访"


def _staff_user(username, unit, role):
    return create_staff(
        actor=None,
        username=username,
        name=username,
        org_unit=unit,
        password=PASSWORD,
        roles=[(role, unit)],
    ).user


@pytest.fixture
def moved(world):
    """stu_a2 (open orange case at school A) moved by the roster to school B (district B),
    which has a station with a counsellor."""
    world.station_b = create_unit(
        actor=None, parent=world.district_b, kind="station", name="乙区站"
    )
    world.station_counsellor_b = _staff_user("station_b", world.station_b, Role.STATION_COUNSELLOR)
    move_student(actor=None, student=world.stu_a2, school_class=world.class_b1, term=world.term)
    world.stu_a2.refresh_from_db()
    return world


def fresh(case):
    return Case.objects.select_related("student", "school").get(pk=case.pk)


def request(world, **kw):
    args = {"actor": world.psych, "to_school": world.school_b, "handover_note": NOTE}
    args.update(kw)
    return services.request_transfer(world.case_a2, **args)


# --- the selector of cases to send ------------------------------------------------------------


def test_needs_transfer_lists_moved_students_for_the_old_school_only(moved):
    assert list(sel.needs_transfer(principal=principal_for(moved.psych))) == [moved.case_a2]
    assert list(sel.needs_transfer(principal=principal_for(moved.psych_b))) == []
    assert list(sel.needs_transfer(principal=principal_for(moved.school_admin))) == []
    request(moved)
    assert list(sel.needs_transfer(principal=principal_for(moved.psych))) == []


def test_needs_transfer_is_empty_while_the_student_stays(world):
    assert list(sel.needs_transfer(principal=principal_for(world.psych))) == []


# --- request ----------------------------------------------------------------------------------


def test_request_goes_to_the_receiving_districts_station(moved):
    transfer = request(moved)
    assert transfer.status == TransferStatus.REQUESTED
    assert transfer.station == moved.station_b
    assert transfer.from_school == moved.school_a
    assert transfer.to_school == moved.school_b
    assert transfer.handover_note == NOTE
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT handover_note FROM {CaseTransfer._meta.db_table}"  # noqa: S608
        )
        assert "住院" not in cursor.fetchone()[0]
    assert fresh(moved.case_a2).school == moved.school_a  # the old school keeps the case
    event = AuditEvent.objects.get(action="cases.transfer.requested")
    assert event.fields["station"] == str(moved.station_b.code)
    assert NOTE not in str(event.fields)
    assert Notification.objects.filter(
        recipient=moved.station_counsellor_b, kind="case.transfer_requested"
    ).exists()
    assert not Notification.objects.filter(recipient=moved.station_counsellor).exists()


def test_request_refused_when_the_roster_has_not_moved_the_student(world):
    with pytest.raises(DomainError) as exc:
        request(world)
    assert exc.value.field == "to_school"
    assert not CaseTransfer.objects.exists()


def test_request_needs_a_handover_note(moved):
    with pytest.raises(DomainError) as exc:
        request(moved, handover_note="  ")
    assert exc.value.field == "handover_note"


def test_request_refused_twice(moved):
    request(moved)
    with pytest.raises(DomainError, match="already under way"):
        request(moved)


def test_one_pending_transfer_per_case_in_the_database(moved):
    transfer = request(moved)
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseTransfer.objects.create(
            case=moved.case_a2,
            from_school=moved.school_a,
            to_school=moved.school_b,
            station=moved.station_b,
            handover_note="x",
            requested_by=moved.psych,
            requested_at=timezone.now(),
        )
    assert CaseTransfer.objects.get() == transfer


def test_request_refused_without_a_station_in_the_receiving_district(world):
    move_student(actor=None, student=world.stu_a2, school_class=world.class_b1, term=world.term)
    world.case_a2 = fresh(world.case_a2)
    with pytest.raises(DomainError, match="no counselling station"):
        request(world)


@pytest.mark.parametrize("who", ["psych_b", "school_admin", "station_counsellor", "head_teacher"])
def test_request_only_by_the_old_schools_psychology_teacher(moved, who):
    with pytest.raises(PermissionDenied):
        request(moved, actor=getattr(moved, who))


# --- the station ------------------------------------------------------------------------------


def test_transfer_cannot_skip_the_station(moved):
    transfer = request(moved)
    with pytest.raises(DomainError, match="not forwarded"):
        services.accept_transfer(transfer, actor=moved.psych_b)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REQUESTED
    assert fresh(moved.case_a2).school == moved.school_a
    # …and the receiving teacher cannot even find it before the station forwards it.
    with pytest.raises(Http404):
        sel.get_transfer_to_accept(principal=principal_for(moved.psych_b), code=moved.case_a2.code)


def test_only_the_receiving_districts_station_forwards(moved):
    transfer = request(moved)
    with pytest.raises(PermissionDenied):
        services.forward_transfer(transfer, actor=moved.station_counsellor)  # district A
    with pytest.raises(PermissionDenied):
        services.forward_transfer(transfer, actor=moved.psych)
    with pytest.raises(Http404):
        sel.get_transfer_to_forward(
            principal=principal_for(moved.station_counsellor), code=moved.case_a2.code
        )
    services.forward_transfer(transfer, actor=moved.station_counsellor_b)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.FORWARDED
    assert transfer.forwarded_by == moved.station_counsellor_b
    assert Notification.objects.filter(
        recipient=moved.psych_b, kind="case.transfer_forwarded"
    ).exists()
    with pytest.raises(DomainError, match="already been forwarded"):
        services.forward_transfer(transfer, actor=moved.station_counsellor_b)


def test_cross_school_visibility_follows_acceptance(moved):
    psych_b = principal_for(moved.psych_b)
    transfer = request(moved)
    with pytest.raises(Http404):
        get_case(principal=psych_b, code=moved.case_a2.code)
    services.forward_transfer(transfer, actor=moved.station_counsellor_b)
    with pytest.raises(Http404):  # forwarded is not accepted
        get_case(principal=psych_b, code=moved.case_a2.code)
    assert get_case(principal=principal_for(moved.psych), code=moved.case_a2.code)

    services.accept_transfer(transfer, actor=moved.psych_b)

    assert get_case(principal=psych_b, code=moved.case_a2.code).pk == moved.case_a2.pk
    with pytest.raises(Http404):
        get_case(principal=principal_for(moved.psych), code=moved.case_a2.code)
    assert list(visible_cases(principal=principal_for(moved.school_admin))) == []


def test_acceptance_moves_the_case_with_a_record(moved):
    CaseTeamMember.objects.create(
        case=moved.case_a2,
        user=moved.head_teacher,
        tier=2,
        role=Role.HEAD_TEACHER,
        task="关注",
        added_by=moved.psych,
        added_at=timezone.now(),
    )
    transfer = request(moved)
    services.forward_transfer(transfer, actor=moved.station_counsellor_b)
    services.accept_transfer(transfer, actor=moved.psych_b)

    case = fresh(moved.case_a2)
    assert case.school == moved.school_b
    assert case.owner == moved.psych_b
    assert case.level == "orange"
    change = LevelChange.objects.filter(case=case).order_by("-at", "-id").first()
    assert change.kind == ChangeKind.TRANSFERRED
    assert (change.from_level, change.to_level) == ("orange", "orange")
    assert change.changed_by == moved.psych_b
    assert change.evidence["from_school"] == str(moved.school_a.code)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.ACCEPTED
    assert transfer.accepted_by == moved.psych_b
    assert CaseTeamMember.objects.get().removed_at is not None
    names = list(
        AuditEvent.objects.filter(action__startswith="cases.transfer.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert names == [
        "cases.transfer.requested",
        "cases.transfer.forwarded",
        "cases.transfer.accepted",
    ]
    accepted = AuditEvent.objects.get(action="cases.transfer.accepted")
    assert accepted.school_id == moved.school_b.pk
    assert accepted.fields["team_stood_down"] == 1
    with pytest.raises(DomainError, match="already been accepted"):
        services.accept_transfer(transfer, actor=moved.psych_b)


def test_acceptance_only_by_the_receiving_school(moved):
    transfer = request(moved)
    services.forward_transfer(transfer, actor=moved.station_counsellor_b)
    for who in ("psych", "station_counsellor_b", "head_teacher_b"):
        with pytest.raises(PermissionDenied):
            services.accept_transfer(transfer, actor=getattr(moved, who))
    assert fresh(moved.case_a2).school == moved.school_a


def test_same_district_transfer_goes_through_its_own_station(world):
    school_c = create_unit(
        actor=None, parent=world.district_a, kind="school", name="甲区第三中学", stage="junior"
    )
    grade = create_unit(actor=None, parent=school_c, kind="grade", name="七年级", grade_level=7)
    class_c1 = create_unit(actor=None, parent=grade, kind="class", name="七(1)班")
    psych_c = _staff_user("psych_c", school_c, Role.PSYCHOLOGY_TEACHER)
    move_student(actor=None, student=world.stu_a2, school_class=class_c1, term=world.term)
    world.case_a2 = fresh(world.case_a2)
    transfer = request(world, to_school=school_c)
    assert transfer.station == world.station_a
    services.forward_transfer(transfer, actor=world.station_counsellor)
    services.accept_transfer(transfer, actor=psych_c)
    assert fresh(world.case_a2).school == school_c


def test_acceptance_refused_when_the_student_moved_again(moved):
    transfer = request(moved)
    services.forward_transfer(transfer, actor=moved.station_counsellor_b)
    move_student(actor=None, student=moved.stu_a2, school_class=moved.class_a1, term=moved.term)
    with pytest.raises(DomainError, match="no longer on your school"):
        services.accept_transfer(transfer, actor=moved.psych_b)


# --- views ------------------------------------------------------------------------------------


def test_transfer_walk_through_the_pages(moved, client_for):
    code = moved.case_a2.code
    old = client_for(moved.psych)
    page = old.get(reverse("cases:transfer-incoming"))
    assert page.status_code == 200
    assert reverse("cases:transfer-request", kwargs={"code": code}) in page.content.decode()
    request_url = reverse("cases:transfer-request", kwargs={"code": code})
    assert old.get(request_url).status_code == 200
    assert old.post(request_url, {"handover_note": NOTE}).status_code == 302

    # The receiving teacher sees nothing to accept yet; accepting answers 404.
    new = client_for(moved.psych_b)
    accept_url = reverse("cases:transfer-accept", kwargs={"code": code})
    assert NOTE not in new.get(reverse("cases:transfer-incoming")).content.decode()
    assert new.post(accept_url).status_code == 404

    # District A's station does not see it; district B's station forwards it.
    list_url = reverse("cases:transfer-list")
    forward_url = reverse("cases:transfer-forward", kwargs={"code": code})
    station_a = client_for(moved.station_counsellor)
    assert NOTE not in station_a.get(list_url).content.decode()
    assert station_a.post(forward_url).status_code == 404
    station_b = client_for(moved.station_counsellor_b)
    body = station_b.get(list_url).content.decode()
    assert NOTE in body
    assert station_b.post(forward_url).status_code == 302

    body = new.get(reverse("cases:transfer-incoming")).content.decode()
    assert NOTE in body
    try:
        detail = reverse("cases:case-detail", kwargs={"code": code})
    except NoReverseMatch:
        detail = None
    if detail:
        assert new.get(detail).status_code == 404  # forwarded, not yet accepted
        assert old.get(detail).status_code == 200
    assert AuditEvent.objects.filter(action="cases.transfer.viewed", actor=moved.psych_b).exists()
    assert new.post(accept_url).status_code == 302
    assert fresh(moved.case_a2).school == moved.school_b
    if detail:
        assert new.get(detail).status_code == 200
        assert old.get(detail).status_code == 404


def test_transfer_pages_refuse_wrong_roles(moved, client_for):
    code = moved.case_a2.code
    for user in (moved.psych, moved.school_admin, moved.head_teacher, moved.city_admin):
        assert client_for(user).get(reverse("cases:transfer-list")).status_code == 403
        assert (
            client_for(user).post(reverse("cases:transfer-forward", kwargs={"code": code}))
        ).status_code == 403
    for user in (moved.station_counsellor, moved.school_admin, moved.head_teacher):
        assert client_for(user).get(reverse("cases:transfer-incoming")).status_code == 403
        assert (
            client_for(user).get(reverse("cases:transfer-request", kwargs={"code": code}))
        ).status_code == 403
    assert (
        client_for(moved.psych_b).get(reverse("cases:transfer-request", kwargs={"code": code}))
    ).status_code == 404


def test_nav_items_follow_capabilities(world):
    from xinqiao.cases.views.schooling import NAV_ITEMS

    caps = {item.url_name: item.cap for item in NAV_ITEMS}
    assert caps["cases:transfer-list"] == Cap.FORWARD_TRANSFERS
    assert caps["cases:sweep-list"] == Cap.HANDLE_CASES
    assert caps["cases:incident-list"] == Cap.HANDLE_CASES


def test_request_form_shows_the_station(moved, client_for):
    body = (
        client_for(moved.psych)
        .get(reverse("cases:transfer-request", kwargs={"code": moved.case_a2.code}))
        .content.decode()
    )
    assert moved.station_b.name in body
    assert moved.school_b.name in body


def test_panel_offers_the_transfer(moved):
    from xinqiao.cases.views.schooling import panel

    ctx = panel(principal_for(moved.psych), fresh(moved.case_a2)).context["schooling"]
    assert ctx["moved"] is True
    assert ctx["can_request_transfer"] is True
    request(moved)
    ctx = panel(principal_for(moved.psych), fresh(moved.case_a2)).context["schooling"]
    assert ctx["can_request_transfer"] is False
    assert ctx["pending_transfer"].to_school == moved.school_b


# --- telling the owner of a moved student's case ----------------------------------------------


def _moved_case(world, n):
    """An open case of school A whose student the roster now has at school B."""
    student = create_student(
        actor=None,
        student_number=f"G{900000 + n:017d}X",
        name=f"转学生{n}",
        gender="F",
        birth_date=datetime.date(2013, 5, 5),
        school_class=world.class_b1,
        term=world.term,
    )
    now = timezone.now()
    return Case.objects.create(
        student=student,
        school=world.school_a,
        level="yellow",
        level_since=now,
        owner=world.psych,
        opened_at=now,
        opened_by=world.psych,
    )


def _outbox_reads(ctx):
    table = Notification._meta.db_table
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and table in q["sql"]
    ]


def test_telling_moved_students_costs_the_same_queries_however_many_moved(moved):
    with CaptureQueriesContext(connection) as first:
        assert services.notify_moved_students(school_ids=None) == 1  # case_a2's owner
    with CaptureQueriesContext(connection) as one:
        assert services.notify_moved_students(school_ids=None) == 0  # told already
    for n in range(5):
        _moved_case(moved, n)
    with CaptureQueriesContext(connection) as six_new:
        assert services.notify_moved_students(school_ids=None) == 5  # the 5 new ones only
    with CaptureQueriesContext(connection) as six:
        assert services.notify_moved_students(school_ids=None) == 0
    assert len(six) == len(one)  # checking six told cases costs what checking one does
    # "Was the owner told?" is one outbox query per call, not one per moved case.
    assert len(_outbox_reads(first)) == len(_outbox_reads(six_new)) == len(_outbox_reads(six)) == 1
    assert Notification.objects.filter(kind=services.MOVED_KIND).count() == 6
