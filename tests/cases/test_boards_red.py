"""The red-case boards (issue 5): the district station's red and escalated cases, the city's red
cases past +24 h (escalated by the real escalation task under a travelling clock), and the
aggregates with small cells suppressed."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.access.services import create_staff
from xinqiao.alerts import services as alert_services
from xinqiao.alerts.models import Alert, Escalation
from xinqiao.cases.models import FollowUp
from xinqiao.cases.selectors.boards import case_link

from .test_boards import NOW, alert, case, escalation, html_of, referral, student

RED_BOARD = "cases:red-board"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=True):
        yield


def board(client, **params):
    return client.get(reverse(RED_BOARD), params)


def follow_up(c, *, by, days_ago: int) -> FollowUp:
    at = timezone.now() - datetime.timedelta(days=days_ago)
    return FollowUp.objects.create(
        case=c,
        due_at=at,
        done_at=at,
        method="interview",
        trend="stable",
        level_at_time=c.level,
        note="随访记录（加密）",
        recorded_by=c.owner,
        client_key=f"fu-{c.pk}-{days_ago}",
        created_at=at,
    )


def _confirm(a: Alert) -> None:
    """Mark the alert verified with the model (the case is built by hand below; the lifecycle
    area's signal handler is not what these tests are about)."""
    Alert.objects.filter(pk=a.pk).update(
        status="verified", outcome="confirmed", verified_at=timezone.now()
    )


# --- the station ------------------------------------------------------------------------------


@pytest.fixture
def station_world(world):
    w = world
    now = timezone.now()
    w.red = case(
        student(w.class_a1, "红案生"),
        level="red",
        owner=w.psych,
        opened_at=now - datetime.timedelta(days=6),
    )
    follow_up(w.red, by=w.psych, days_ago=2)
    referral(w.red, by=w.psych, hospital=w.hospital, status="received")
    w.escalated = case(
        student(w.class_a2, "升级生"),
        level="orange",
        owner=w.psych,
        opened_at=now - datetime.timedelta(days=3),
    )
    late = alert(w.escalated.student, level="orange", now=now - datetime.timedelta(days=2))
    escalation(late, "orange_leader")  # while the case was open
    w.quiet = case(student(w.class_a2, "普通橙生"), level="orange", owner=w.psych)
    case(w.stu_b1, level="red", owner=w.psych_b)  # district B
    return w


def test_station_board_lists_red_and_escalated_cases_of_its_district(station_world, client_for):
    w = station_world
    response = board(client_for(w.station_counsellor))

    assert response.status_code == 200
    html = html_of(response)
    station = html[html.index('data-testid="station-board"') :]
    assert station.count('data-row="case"') == 2
    assert station.index("红案生") < station.index("升级生")  # red first
    assert "Escalated" in station
    assert "甲校心理老师" in station  # owner
    assert "2 d ago" in station  # last follow-up
    assert "Received by the hospital" in station  # referral status
    for name in ("李小红", "普通橙生", "赵小刚"):
        assert name not in html
    assert "随访记录" not in html  # no notes
    link = case_link(w.red.code)
    if link is not None:
        assert link in station
    assert 'data-testid="city-board"' not in html


def test_station_board_query_count_does_not_grow_with_rows(station_world, client_for):
    w = station_world
    client = client_for(w.station_counsellor)
    board(client)
    with CaptureQueriesContext(connection) as few:
        board(client)
    for i in range(6):
        c = case(student(w.class_a1), level="red", owner=w.psych)
        follow_up(c, by=w.psych, days_ago=i)
        referral(c, by=w.psych, hospital=w.hospital)

    with CaptureQueriesContext(connection) as many:
        html = html_of(board(client))

    assert html.count('data-row="case"') == 8
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the city: only red cases past +24 h ------------------------------------------------------


@pytest.fixture
def city_world(world):
    """Red alerts raised at NOW; the escalation task runs at +3 h and at +25 h."""
    w = world
    start = timezone.now()
    w.s_late = student(w.class_a1, "迟迟未核实生")
    w.s_quick = student(w.class_a2, "及时核实生")
    w.s_open = student(w.class_a1, "仍未核实生")
    w.s_b = student(w.class_b1, "乙校迟核生")
    # District B has no station: its +24 h step goes to the district administrator.
    create_staff(
        actor=None,
        username="district_admin_b",
        name="乙区管理员",
        org_unit=w.district_b,
        password="Xq-test-Passw0rd!",
        roles=[(Role.DISTRICT_ADMIN, w.district_b)],
    )

    def red(stu):
        return alert_services.raise_alert(
            student=stu, level="red", source="head_teacher", evidence={"concern": "x"}
        )

    late, quick, still_open, late_b = (red(s) for s in (w.s_late, w.s_quick, w.s_open, w.s_b))
    with time_machine.travel(start + datetime.timedelta(hours=3), tick=False):
        alert_services.run_escalations()  # +2 h: all four go to the leader
        _confirm(quick)
        w.quick_case = case(w.s_quick, level="red", owner=w.psych, alert=quick)
    with time_machine.travel(start + datetime.timedelta(hours=25), tick=False):
        alert_services.run_escalations()  # +24 h: the three still open go to the station
        assert alert_services.run_escalations() == 0  # exactly once
        _confirm(late)
        w.late_case = case(w.s_late, level="red", owner=w.psych, alert=late)
        _confirm(late_b)
        w.late_b_case = case(w.s_b, level="red", owner=w.psych_b, alert=late_b)
    w.still_open = still_open
    # An orange case escalated to the leader is not the city's business.
    orange = alert(student(w.class_a1, "橙色超时生"), level="orange")
    escalation(orange, "orange_leader")
    return w


def test_city_board_lists_only_red_cases_escalated_to_the_station(city_world, client_for):
    w = city_world
    assert set(
        Escalation.objects.filter(step="red_station").values_list("alert__student__name", flat=True)
    ) == {
        "迟迟未核实生",
        "仍未核实生",
        "乙校迟核生",
    }
    with time_machine.travel(NOW + datetime.timedelta(days=3), tick=False):
        response = board(client_for(w.city_admin))

    assert response.status_code == 200
    html = html_of(response)
    city = html[html.index('data-testid="city-board"') :]
    city = city[: city.index("</section>")]
    assert city.count('data-row="city-case"') == 2  # school A's and school B's late cases
    assert "甲区第一中学" in city
    assert "乙区第二中学" in city
    assert "七(1)班" in city
    alerts = html[html.index('data-testid="city-alerts"') :]
    alerts = alerts[: alerts.index("</section>")]
    assert alerts.count('data-row="city-alert"') == 1  # the one still not verified
    # No names, no links to a case, nothing of the quick case or the orange one.
    for name in ("迟迟未核实生", "及时核实生", "仍未核实生", "乙校迟核生", "橙色超时生", "李小红"):
        assert name not in html
    for c in (w.late_case, w.quick_case, w.late_b_case):
        link = case_link(c.code)
        if link is not None:
            assert link not in html
    assert 'data-testid="station-board"' not in html
    days = [row.days for row in response.context["city"]]
    assert days == [1, 1]  # escalated at +25 h, looked at on day 3: 47 h, one whole day


def test_city_board_is_empty_before_24_hours(world, client_for):
    red = alert_services.raise_alert(
        student=world.stu_a1, level="red", source="head_teacher", evidence={"concern": "x"}
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=23), tick=False):
        alert_services.run_escalations()
        _confirm(red)
        case(world.stu_a1, level="red", owner=world.psych, alert=red)
        html = html_of(board(client_for(world.city_admin)))

    assert 'data-row="city-case"' not in html
    assert 'data-row="city-alert"' not in html


def test_station_sees_the_late_red_cases_of_its_district_with_names(city_world, client_for):
    html = html_of(board(client_for(city_world.station_counsellor)))

    assert "迟迟未核实生" in html
    assert "及时核实生" in html  # red: the station sees every red case of its district
    assert "乙校迟核生" not in html


@pytest.mark.parametrize(
    "role",
    [
        Role.DISTRICT_ADMIN,
        Role.SCHOOL_ADMIN,
        Role.PSYCHOLOGY_TEACHER,
        Role.HEAD_TEACHER,
        Role.MENTOR,
        Role.COMMITTEE_MEMBER,
        Role.PARENT,
        Role.PSYCHIATRIST,
        Role.AUDITOR,
        Role.SYSTEM_ADMIN,
    ],
)
def test_red_board_refuses_other_roles(world, client_for, role):
    assert board(client_for(world.by_role[role])).status_code == 403


def test_red_board_refuses_psych_b_and_anonymous(world, client_for, client):
    assert board(client_for(world.psych_b)).status_code == 403
    assert board(client).status_code == 302


def test_city_board_query_count_does_not_grow_with_rows(city_world, client_for):
    w = city_world
    client = client_for(w.city_admin)
    board(client)
    with CaptureQueriesContext(connection) as few:
        board(client)
    for _ in range(5):
        stu = student(w.class_a2)
        a = alert(stu, level="red", status="verified")
        escalation(a, "red_station")
        case(stu, level="red", owner=w.psych, alert=a)
        escalation(alert(student(w.class_b1), level="red"), "red_station")

    with CaptureQueriesContext(connection) as many:
        html = html_of(board(client))

    assert html.count('data-row="city-case"') == 7
    assert html.count('data-row="city-alert"') == 6
    assert len(many.captured_queries) == len(few.captured_queries)


# --- aggregates -------------------------------------------------------------------------------


def test_city_aggregates_suppress_cells_under_five(world, client_for):
    w = world
    for level, n in (("red", 2), ("orange", 5), ("yellow", 7)):
        for _ in range(n):
            case(student(w.class_a1), level=level, owner=w.psych)
    for level, n in (("red", 1), ("orange", 5), ("yellow", 5)):
        for _ in range(n):
            case(student(w.class_b1), level=level, owner=w.psych_b)
    case(student(w.class_b1), level="yellow", owner=w.psych_b, status="closed")  # not counted

    response = board(client_for(w.city_admin))

    (table,) = response.context["aggregates"]
    assert table.by == "district"
    cells = {row["unit"].name: row["cells"] for row in table.rows}
    assert cells == {"甲区": [None, None, 7, 15], "乙区": [None, None, 5, 11]}
    assert table.total["cells"] == [None, None, 12, 26]
    html = html_of(response)
    assert "data-hidden-cell" in html


def test_station_aggregates_are_by_school_of_its_district(world, client_for):
    for _ in range(6):
        case(student(world.class_a1), level="yellow", owner=world.psych)
    case(student(world.class_b1), level="yellow", owner=world.psych_b)

    response = board(client_for(world.station_counsellor))

    (table,) = response.context["aggregates"]
    assert table.by == "school"
    assert [row["unit"].name for row in table.rows] == ["甲区第一中学"]
    # case_a2 (orange, 1) and six yellow: the orange hides, the zero beside it too (it would say
    # where the case is not), and its non-zero partner (else the total would give it back).
    assert table.rows[0]["cells"] == [None, None, None, 7]
    assert table.total["cells"] == [None, None, None, 7]
