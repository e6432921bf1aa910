"""The navigation (issue 12): entries grouped by the policy's legs, each role sees only the
groups with an entry it may use, the current page's group is open, and the badges count the
unread inbox and the overdue items."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from xinqiao.access.roles import Cap, Role
from xinqiao.core import navigation
from xinqiao.core.navigation import Navigation, NavItem
from xinqiao.notifications.selectors import unread_count
from xinqiao.notifications.services import dispatch_outbox, notify

from ..cases.test_boards import alert, case, student

GROUPS = {
    # cases: the crisis teams and plans; indicators: the counselling rooms, hospital areas,
    # training hours and research activities
    # counselling: the duty rosters and appointments (issue 15); the mentor system's "My mentees"
    # for every teacher, "Mentor coverage" for the school leader and the head teacher
    Role.CITY_ADMIN: ["monitoring", "cases", "counselling", "indicators", "admin"],
    Role.DISTRICT_ADMIN: ["monitoring", "cases", "counselling", "indicators", "admin"],
    Role.STATION_COUNSELLOR: ["monitoring", "cases", "counselling", "indicators", "admin"],
    Role.SCHOOL_ADMIN: ["monitoring", "cases", "counselling", "indicators", "admin"],
    Role.PSYCHOLOGY_TEACHER: ["monitoring", "cases", "counselling", "indicators", "admin"],
    Role.HEAD_TEACHER: ["monitoring", "cases", "counselling", "admin"],
    Role.MENTOR: ["monitoring", "cases", "counselling", "admin"],
    Role.COMMITTEE_MEMBER: ["monitoring", "cases"],
    Role.PARENT: ["family"],  # their own pages only (tests/family), never the staff search
    Role.PSYCHIATRIST: ["monitoring", "cases", "admin"],  # files hospital concerns
    Role.AUDITOR: ["admin"],
    Role.SYSTEM_ADMIN: ["admin"],
    Role.DEPARTMENT_OFFICER: ["indicators"],
    Role.EXPERT: ["cases"],
}


def groups_of(html: str) -> list[str]:
    return re.findall(r'data-nav-group="([^"]+)"', html)


def group_html(html: str, key: str) -> str:
    start = html.index(f'data-nav-group="{key}"')
    return html[start : html.index("</ul>", start)]


@pytest.mark.parametrize(("role", "expected"), GROUPS.items())
def test_each_role_sees_the_groups_it_has_entries_in(world, client_for, role, expected):
    html = client_for(world.by_role[role]).get(reverse("home")).content.decode()

    assert groups_of(html) == expected
    # the leg still to come (education) has no entry: nobody sees it; the family group is the
    # parents' own (xinqiao/family)
    assert "education" not in groups_of(html)
    assert ("family" in groups_of(html)) == (role == Role.PARENT)


def test_entries_sit_in_their_group(world, client_for):
    html = client_for(world.psych).get(reverse("home")).content.decode()

    assert 'data-nav="alerts:worklist"' in group_html(html, "monitoring")
    assert 'data-nav="screening:campaign-list"' in group_html(html, "monitoring")
    assert 'data-nav="cases:worklist"' in group_html(html, "cases")
    assert 'data-nav="people:student-list"' in group_html(html, "admin")
    # home and the inbox stand outside the groups
    assert 'data-nav="notifications:inbox"' in html
    assert all('data-nav="notifications:inbox"' not in group_html(html, g) for g in groups_of(html))


class _Caps:
    def __init__(self, *caps: str) -> None:
        self.caps = set(caps)
        self.grants = ["x"]

    def can(self, cap: str) -> bool:
        return cap in self.caps


def test_a_group_without_an_entry_the_user_may_use_is_hidden(monkeypatch, db):
    monkeypatch.setattr(
        navigation,
        "NAV_ITEMS",
        [
            NavItem("home", "Home", None),
            NavItem("people:student-list", "Students", Cap.VIEW_STUDENTS, group=navigation.ADMIN),
            NavItem("cases:worklist", "Worklist", Cap.HANDLE_CASES, group=navigation.CASES),
        ],
    )

    only_students = Navigation(_Caps(Cap.VIEW_STUDENTS))
    both = Navigation(_Caps(Cap.VIEW_STUDENTS, Cap.HANDLE_CASES))

    assert [g["key"] for g in only_students.groups] == ["admin"]
    assert [g["key"] for g in both.groups] == ["cases", "admin"]  # in the policy's order
    assert [i["url_name"] for i in only_students.top] == ["home"]


def test_an_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown group"):
        navigation.register(NavItem("home-x", "X", None, group="nowhere"))


def test_the_current_pages_group_is_open(world, client_for):
    client = client_for(world.psych)

    html = client.get(reverse("cases:worklist")).content.decode()
    alert_page = client.get(
        reverse("alerts:alert-detail", kwargs={"code": world.alert_a1.code})
    ).content.decode()

    assert 'nav-group active" data-nav-group="cases"' in html
    assert 'nav-group active" data-nav-group="monitoring"' not in html
    assert 'aria-current="page"' in group_html(html, "cases")
    # a page that is no entry of its own opens the group of its app's entries
    assert 'nav-group active" data-nav-group="monitoring"' in alert_page


def test_badges_count_unread_messages_and_overdue_items(world, client_for):
    now = timezone.now()
    late = alert(student(world.class_a1), level="red", now=now - datetime.timedelta(days=3))
    overdue = now - datetime.timedelta(hours=2)
    case(student(world.class_a1), level="red", owner=world.psych, due=overdue)
    notify(recipients=[world.psych], kind="test", subject="你好")
    dispatch_outbox()
    assert late.next_deadline < now

    html = client_for(world.psych).get(reverse("home")).content.decode()

    unread = unread_count(user=world.psych)
    assert unread >= 1
    assert re.search(rf'data-nav-count="notifications:inbox"[^>]*>{unread}<', html)
    # one alert past its deadline + one follow-up overdue, in red, on the entry and its group
    assert re.search(r'text-bg-danger" data-nav-count="cases:worklist" [^>]*>2<', html)
    assert re.search(r'text-bg-danger">2</span>', group_html(html, "cases"))


def test_another_schools_overdue_items_are_not_counted(world, client_for):
    alert(student(world.class_a1), level="red", now=timezone.now() - datetime.timedelta(days=3))

    html = client_for(world.psych_b).get(reverse("home")).content.decode()

    assert 'data-nav-count="cases:worklist"' not in html  # nothing overdue in school B


def test_group_labels_in_chinese(world, client_for):
    with translation.override("zh-hans"):
        html = (
            client_for(world.station_counsellor)
            .get(reverse("home"), headers={"accept-language": "zh-hans"})
            .content.decode()
        )

    for label in ("监测预警", "干预处置", "统计与督导", "管理"):
        assert label in html


def test_zh_hans_catalogue_names_every_leg():
    with translation.override("zh-hans"):
        labels = [str(g.label) for g in navigation.GROUPS]

    assert labels == ["监测预警", "干预处置", "咨询服务", "健康教育", "家校", "统计与督导", "管理"]
