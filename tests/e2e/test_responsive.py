"""Pages fit a phone (375×667) and a school PC (1366×768) without horizontal scrolling."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

from .conftest import DESKTOP, PHONE, no_horizontal_overflow

pytestmark = [pytest.mark.e2e]

VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


def _assert_fits(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    # The stylesheet must have loaded, or "no overflow" would prove nothing about the layout.
    assert page.evaluate("getComputedStyle(document.body).display") == "flex", path
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert no_horizontal_overflow(page), f"{path}: scrollWidth/innerWidth = {width}"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_login_page_fits(page, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    _assert_fits(page, reverse("login"))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_pages_fit(page, login, world, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    for persona in ("psych", "head_teacher", "city_admin"):
        page.context.clear_cookies()
        login(getattr(world, persona).username, PASSWORD)
        for path in (
            reverse("home"),
            reverse("people:student-list"),
            reverse("people:student-detail", kwargs={"code": world.stu_a1.code}),
        ):
            _assert_fits(page, path)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_english_pages_fit(page, login, world, viewport):
    # English labels are longer than Chinese ones.
    page.set_viewport_size(VIEWPORTS[viewport])
    login(world.psych.username, PASSWORD)
    with page.expect_navigation():
        page.locator("select[name=language]").select_option("en")
    for path in (
        reverse("people:student-list"),
        reverse("people:student-detail", kwargs={"code": world.stu_a1.code}),
    ):
        _assert_fits(page, path)


PHONE_390 = {"width": 390, "height": 844}


def _loop_pages(world) -> dict[str, list[str]]:
    """The loop's pages, per role that works them (issue 12: none may scroll sideways at 390 px)."""
    campaign, school = world.campaign.code, world.school_a.code
    return {
        "psych": [
            reverse("alerts:worklist"),
            reverse("alerts:alert-detail", kwargs={"code": world.alert_a1.code}),
            reverse("alerts:alert-verify", kwargs={"code": world.alert_a1.code}),
            reverse("alerts:concern-create"),
            reverse("screening:campaign-list"),
            reverse("screening:campaign-detail", kwargs={"code": campaign}),
            reverse("screening:results", kwargs={"code": campaign, "school": school}),
            reverse("cases:case-list"),
            reverse("cases:case-detail", kwargs={"code": world.case_a2.code}),
            reverse("notifications:inbox"),
        ],
        "head_teacher": [
            reverse("screening:my-classes"),
            reverse(
                "screening:class-progress",
                kwargs={"code": campaign, "class_code": world.class_a1.code},
            ),
            reverse("alerts:concern-create"),
        ],
        "psychiatrist": [
            reverse("cases:referral-inbox"),
            reverse("cases:referral-detail", kwargs={"code": world.referral_a2.code}),
        ],
        "district_admin": [
            reverse("screening:campaign-list"),
            reverse("screening:campaign-aggregates", kwargs={"code": campaign}),
        ],
        "parent": [
            reverse("home"),
            reverse("family:home"),
            reverse("family:child-detail", kwargs={"code": world.stu_a1.code}),
            reverse("family:messages"),
            reverse("family:guidance"),
            reverse("alerts:concern-create") + f"?student={world.stu_a1.code}",
        ],
    }


# Table cells whose short text wraps: Chinese breaks between any two characters, so a squeezed
# column shows a name one character per line ("刘/岩").
WRAPPED_CELLS = """
[...document.querySelectorAll('td, th')].filter(cell => {
  const text = cell.innerText.trim();
  if (!text || text.length > 8) return false;
  if (cell.querySelector('input, select, textarea, button')) return false;
  const line = parseFloat(getComputedStyle(cell).lineHeight) || 24;
  const range = document.createRange(); range.selectNodeContents(cell);
  return range.getBoundingClientRect().height > 1.8 * line;
}).map(cell => cell.innerText.trim())
"""


def test_the_loop_fits_a_phone_for_every_role(page, login, world, settings):
    from tests.screening.test_campaign import answer
    from xinqiao.screening.models import Assignment

    for student in (world.stu_a1, world.stu_a2):  # results with every column and band badges
        answer(
            Assignment.objects.get(campaign=world.campaign, student=student, resit_of=None),
            {"PHQ-A": {"1": 3, "2": 3, "3": 2}, "GAD-7": {"1": 2}},
        )
    settings.LANGUAGE_CODE = "zh-hans"
    page.set_viewport_size(PHONE_390)
    for persona, paths in _loop_pages(world).items():
        page.context.clear_cookies()
        login(getattr(world, persona).username, PASSWORD)
        for path in paths:
            _assert_fits(page, path)
            assert page.evaluate(WRAPPED_CELLS) == [], f"{persona} {path}: cells wrap"


def _counselling_pages(world) -> dict[str, list[str]]:
    """The counselling pages (issue 15), per role that works them."""
    import datetime

    from xinqiao.counselling import services
    from xinqiao.counselling.models import AvailabilityKind, RoomKind

    room = services.save_room(
        actor=world.school_admin, unit=world.school_a, name="个体辅导室", kind=RoomKind.INDIVIDUAL
    )
    services.add_room_hours(
        actor=world.psych, room=room, weekday=1, starts=datetime.time(8), ends=datetime.time(17)
    )
    services.add_duty_slot(
        actor=world.school_admin,
        unit=world.school_a,
        counsellor=world.psych,
        weekday=1,
        starts=datetime.time(12),
        ends=datetime.time(13),
        room=room,
    )
    services.publish_availability(
        actor=world.psych,
        unit=world.school_a,
        kind=AvailabilityKind.WEEKLY,
        weekday=1,
        starts=datetime.time(14),
        ends=datetime.time(16),
        room=room,
    )
    school = world.school_a.code
    return {
        "psych": [
            reverse("counselling:home"),
            reverse("counselling:unit", kwargs={"code": school}),
            reverse("counselling:availability"),
            reverse("counselling:calendar"),
            reverse("counselling:book-own"),
            reverse("counselling:feed-manage"),
            reverse("counselling:room-hours", kwargs={"code": room.code}),
            reverse("counselling:room-usage", kwargs={"code": school}),
            reverse("counselling:workload-mine") + "?period=term",
            reverse("counselling:waitlist"),
        ],
        "head_teacher": [
            reverse("counselling:home"),
            reverse("counselling:book"),
            reverse("counselling:waitlist"),
        ],
        "school_admin": [
            reverse("counselling:unit", kwargs={"code": school}),
            reverse("counselling:workload-unit", kwargs={"code": school}),
            reverse("counselling:area-usage"),
        ],
        "district_admin": [
            reverse("counselling:workload-area") + "?period=month",
            reverse("counselling:area-usage") + "?period=term",
        ],
    }


def test_the_counselling_pages_fit_a_phone(page, login, world, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page.set_viewport_size(PHONE_390)
    for persona, paths in _counselling_pages(world).items():
        page.context.clear_cookies()
        login(getattr(world, persona).username, PASSWORD)
        for path in paths:
            _assert_fits(page, path)
            assert page.evaluate(WRAPPED_CELLS) == [], f"{persona} {path}: cells wrap"
