"""Every page of the counselling service and the mentor system fits a 390 px phone in Chinese,
with data on it, for the role that works it (tests/counselling/tour.py lists the pages)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.counselling import tour

from .test_responsive import PHONE_390, WRAPPED_CELLS, _assert_fits

pytestmark = [pytest.mark.e2e]

# Elements wider than the page: named in a failure, so the template to fix is obvious.
WIDE = """
[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right
  > document.documentElement.clientWidth + 1).slice(0, 5)
  .map(e => e.tagName + '.' + e.className + ' ' + (e.innerText || '').slice(0, 30))
"""


def _fits(page, label: str, path: str) -> list[str]:
    try:
        _assert_fits(page, path)
    except AssertionError as error:
        return [f"{label} {path}: {error} {page.evaluate(WIDE)}"]
    wrapped = page.evaluate(WRAPPED_CELLS)
    return [f"{label} {path}: cells wrap {wrapped}"] if wrapped else []


def test_every_counselling_and_mentoring_page_fits_a_phone(page, login, world, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    pages = tour.build(world)
    page.set_viewport_size(PHONE_390)
    failures: list[str] = []
    for persona, paths in pages.items():
        page.context.clear_cookies()
        login(getattr(world, persona).username, PASSWORD)
        for path in paths:
            failures += _fits(page, persona, path)
    # The student: the school's entry, then their own page (signed in with the personal code).
    page.context.clear_cookies()
    entry = reverse("counselling:school-entry", kwargs={"code": world.school_a.code})
    failures += _fits(page, "student", entry)
    page.fill("input[name=personal_code]", world.personal_code)
    with page.expect_navigation():
        page.locator("[data-testid=student-enter] [type=submit]").click()
    assert page.locator("[data-testid=student-page]").count() == 1
    failures += _fits(page, "student", reverse("counselling:student-home"))
    assert failures == [], "\n".join(failures)
