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
