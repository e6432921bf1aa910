"""Choosers on the counselling and mentor-system pages (docs/pickers.md): no page offers a
plain drop-down of students, and the supervisor drop-down does not grow with the city (the
counsellors of one's district's stations and the city centre, never the schools' staff)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.conftest import _user
from xinqiao.access.roles import Role
from xinqiao.orgs.services import create_unit
from xinqiao.people.models import Student

from . import tour

pytestmark = pytest.mark.django_db


class _Selects(HTMLParser):
    """{select name: [option texts]} of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.selects: dict[str, list[str]] = {}
        self._name: str | None = None
        self._option = False

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "select":
            self._name = dict(attrs).get("name") or "?"
            self.selects.setdefault(self._name, [])
        elif tag == "option" and self._name is not None:
            self._option = True
            self.selects[self._name].append("")

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "select":
            self._name = None
        elif tag == "option":
            self._option = False

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._option and self._name is not None:
            self.selects[self._name][-1] += data


def selects(html: str) -> dict[str, list[str]]:
    parser = _Selects()
    parser.feed(html)
    return parser.selects


def test_no_page_offers_a_drop_down_of_students(world, client_for):
    pages = tour.build(world)
    names = {s.name for s in Student.objects.all()}
    found = []
    for persona, paths in pages.items():
        client = client_for(getattr(world, persona))
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, f"{persona} {path}"
            for name, options in selects(response.content.decode()).items():
                if any(any(n in text for n in names) for text in options):
                    found.append(f"{persona} {path}: <select name={name}>")
    assert found == []
    # The student choosers are the searchable picker: a search box posting a student's code.
    for persona, path, field in (
        ("head_teacher", reverse("counselling:book"), "student"),
        ("head_teacher", reverse("counselling:waitlist"), "student"),
        ("psych", reverse("counselling:book-own"), "student"),
        ("psych", reverse("counselling:session-add"), "student"),
        ("station_counsellor", reverse("counselling:hotline-add"), "student"),
        ("mentor", reverse("mentoring:talk-add"), "student"),
        ("school_admin", reverse("mentoring:assign"), "student"),
    ):
        html = client_for(getattr(world, persona)).get(path).content.decode()
        assert f'name="{field}__q"' in html, f"{persona} {path}"


def test_the_supervisor_choice_stays_the_stations_and_the_centres_counsellors(world, client_for):
    """Many counsellors elsewhere in the city (other districts' stations, every school's
    psychology teachers) never reach a school psychology teacher's supervisor drop-down."""
    station_b = create_unit(actor=None, parent=world.district_b, kind="station", name="乙区辅导站")
    elsewhere = [
        _user(f"sc_b{i}", f"乙区辅导员{i}", station_b, Role.STATION_COUNSELLOR) for i in range(5)
    ] + [
        _user(f"pt_b{i}", f"乙校心理老师{i}", world.school_b, Role.PSYCHOLOGY_TEACHER)
        for i in range(5)
    ]
    _user("centre_c", "中心辅导员", world.centre, Role.STATION_COUNSELLOR)

    html = client_for(world.psych).get(reverse("counselling:supervision-add")).content.decode()
    offered = selects(html)["supervisor"]

    assert "甲区辅导员" in " ".join(offered)
    assert "中心辅导员" in " ".join(offered)
    assert len(offered) == 2
    assert not any(u.staff.name in " ".join(offered) for u in elsewhere)


def test_the_facilitator_picker_searches_the_counsellors_only(world, client_for):
    """The city's other staff (a school leader, head teachers) are never offered as a group's
    facilitator; the psychology teachers and station counsellors of the scope are."""
    client = client_for(world.psych)
    page = client.get(reverse("counselling:group-create")).content.decode()
    assert 'hx-get="/pick/counselling-facilitator/"' in page

    def found(q: str) -> str:
        return client.get(
            "/pick/counselling-facilitator/", {"field": "facilitators", "facilitators__q": q}
        ).content.decode()

    assert "甲校心理老师" in found("甲校")
    assert "甲校德育主任" not in found("甲校")
    assert "甲校七1班主任" not in found("甲校")
    assert "乙校心理老师" not in found("乙校")  # another school: outside the scope
