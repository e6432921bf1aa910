"""Home pages that show what needs the user now (issue 12): each role's live counts and nearest
deadlines, from the apps' home panels, in a number of queries that does not grow with the rows,
and never a child named to someone who may not know of them."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from xinqiao.alerts.models import Escalation, EscalationStep
from xinqiao.cases.models import TeamTier

from .test_boards import alert, case, escalation, step_down, student, team


def home(client) -> str:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="([^"]+)" data-value="(\d+)"', html)}


def panels(html: str) -> list[str]:
    return re.findall(r'data-panel="([^"]+)"', html)


def panel(html: str, key: str) -> str:
    start = html.index(f'data-panel="{key}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def busy(world):
    """School A: an alert past its deadline, one due soon, an overdue follow-up and one due
    later today; school B: the same, which nobody of school A may count."""
    now = timezone.now()
    w = world
    w.late_alert = alert(student(w.class_a1, "迟到甲"), now=now - datetime.timedelta(days=3))
    w.soon_alert = alert(student(w.class_a2, "将到乙"), level="red", now=now)
    case(student(w.class_a1, "逾期丙"), owner=w.psych, due=now - datetime.timedelta(hours=3))
    case(student(w.class_a2, "今日丁"), owner=w.psych, due=now + datetime.timedelta(minutes=20))
    alert(student(w.class_b1, "乙校戊"), now=now - datetime.timedelta(days=3))
    case(student(w.class_b1, "乙校己"), owner=w.psych_b, due=now - datetime.timedelta(hours=3))
    return w


def test_psychology_teacher_sees_alerts_by_deadline_and_overdue_follow_ups(busy, client_for):
    html = home(client_for(busy.psych))
    got = counts(html)

    # the world's own orange alert (stu_a1) is open too: 3 open alerts, 1 late
    assert got["cases.worklist.alerts"] == 3
    assert got["cases.worklist.late_alerts"] == 1
    assert got["cases.worklist.overdue"] == 1
    assert got["cases.worklist.today"] == 1
    assert got["cases.worklist.referrals"] == 1
    rows = panel(html, "cases.worklist")
    # nearest deadline first; the one past it in red with the time overdue
    assert rows.index("迟到甲") < rows.index("将到乙")
    assert re.search(r"data-overdue>[^<]*overdue</time>", rows)
    assert re.search(r"[^<]* left</time>", rows)
    assert "乙校" not in html


def test_other_schools_psychology_teacher_counts_only_their_own(busy, client_for):
    got = counts(home(client_for(busy.psych_b)))

    assert got["cases.worklist.alerts"] == 1
    assert got["cases.worklist.late_alerts"] == 1
    assert got["cases.worklist.overdue"] == 1
    assert got["cases.worklist.referrals"] == 0


def test_home_queries_do_not_grow_with_alerts_and_cases(busy, client_for):
    client = client_for(busy.psych)
    home(client)
    with CaptureQueriesContext(connection) as few:
        home(client)
    now = timezone.now()
    for n in range(29):
        alert(student(busy.class_a1), level="red", now=now - datetime.timedelta(hours=n))
        case(student(busy.class_a2), owner=busy.psych, due=now - datetime.timedelta(hours=n + 1))

    with CaptureQueriesContext(connection) as many:
        html = home(client)

    assert counts(html)["cases.worklist.alerts"] == 32
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize("persona", ["school_admin", "head_teacher", "station_counsellor"])
def test_other_roles_home_queries_do_not_grow(busy, client_for, persona):
    client = client_for(getattr(busy, persona))
    home(client)
    with CaptureQueriesContext(connection) as few:
        home(client)
    now = timezone.now()
    for _ in range(10):
        c = case(student(busy.class_a1), level="red", owner=busy.psych, due=now)
        step_down(c, by=busy.psych)
        team(c, getattr(busy, persona), tier=TeamTier.CLASS, task="谈心", by=busy.psych)

    with CaptureQueriesContext(connection) as many:
        home(client)

    assert len(many.captured_queries) == len(few.captured_queries)


def test_head_teacher_sees_their_class_only_and_no_level(busy, client_for):
    html = home(client_for(busy.head_teacher))
    mine = panel(html, "cases.my_class")

    assert panels(html) == ["cases.my_class"]
    # class A1: the world's alert on 王小明, 迟到甲's alert, 逾期丙's case; not class A2 or B1
    assert counts(html)["cases.my_class.attention"] == 3
    assert "王小明" in mine
    assert "迟到甲" in mine
    assert "逾期丙" in mine
    assert "将到乙" not in html
    assert "今日丁" not in html
    assert "乙校" not in html
    assert "Red" not in mine
    assert "Orange" not in mine


def test_committee_member_never_learns_who_needs_care(busy, client_for):
    c = case(student(busy.class_a1, "关注庚"), level="red", owner=busy.psych)
    team(c, busy.committee, tier=TeamTier.PEERS, task="多陪伴", by=busy.psych)

    html = home(client_for(busy.committee))

    assert "cases.my_tasks" not in panels(html)  # not even how many classmates (issue 13)
    assert "cases.my_tasks.tasks" not in counts(html)
    for name in ("关注庚", "迟到甲", "逾期丙", "李小红"):
        assert name not in html


def test_leader_sees_the_overdue_board_in_figures(busy, client_for):
    c = case(student(busy.class_a1, "降级辛"), level="orange", owner=busy.psych)
    step_down(c, by=busy.psych)

    html = home(client_for(busy.school_admin))
    got = counts(html)

    assert "cases.overdue_board" in panels(html)
    assert got["cases.overdue_board.late_alerts"] == 1
    assert got["cases.overdue_board.overdue"] == 1
    assert got["cases.overdue_board.stepdowns"] == 1
    assert got["cases.overdue_board.orange"] == 4  # world's case_a2 + three here
    assert "降级辛" not in html
    assert "迟到甲" not in html


def test_station_and_city_see_red_cases_past_deadline(busy, client_for):
    now = timezone.now()
    red = alert(student(busy.class_a1), level="red", now=now - datetime.timedelta(days=2))
    escalation(red, EscalationStep.RED_STATION)
    case(student(busy.class_a2), level="red", owner=busy.psych, due=now - datetime.timedelta(1))
    case(student(busy.class_b1), level="red", owner=busy.psych_b, due=now - datetime.timedelta(1))
    assert Escalation.objects.count() == 1

    station = counts(home(client_for(busy.station_counsellor)))
    city = counts(home(client_for(busy.city_admin)))

    assert station["cases.red_board.red"] == 1  # district A only
    assert station["cases.red_board.red_late"] == 1
    assert city["cases.red_board.city_alerts"] == 1
    assert "cases.red_board.red" not in city


def test_district_and_city_see_completion_of_open_campaigns(world, client_for):
    html = home(client_for(world.district_admin))
    campaigns = panel(html, "screening.campaigns")

    assert counts(html)["screening.campaigns.open"] == 1
    assert world.campaign.name in campaigns
    assert "handed in" in campaigns
    assert "screening.campaigns" in panels(home(client_for(world.city_admin)))
    # district B's administrator sees no campaign of school A
    other = home(client_for(world.psych_b))
    assert counts(other)["screening.campaigns.open"] == 0


@pytest.mark.parametrize("persona", ["parent", "auditor", "sysadmin", "psychiatrist", "mentor"])
def test_wrong_roles_see_no_board_counts(busy, client_for, persona):
    html = home(client_for(getattr(busy, persona)))

    assert not {"cases.worklist", "cases.overdue_board", "cases.red_board", "cases.my_class"} & set(
        panels(html)
    )
    assert "迟到甲" not in html
    assert "逾期丙" not in html
