"""The concern form's student picker in a browser at phone width (issue 12, "Scale in every
picker"): typing pinyin initials brings a page of matches (htmx), the keyboard reaches them, the
chosen student is posted by code and the concern is filed; nothing of another school appears."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

from .conftest import PHONE, no_horizontal_overflow

pytestmark = [pytest.mark.e2e]


def test_head_teacher_picks_a_student_by_initials_on_a_phone(world, page, login):
    from xinqiao.alerts.models import Concern

    page.set_viewport_size(PHONE)
    login(world.head_teacher.username, PASSWORD)
    page.goto("/alerts/concerns/new/")
    box = page.locator("input[name=student__q]")
    with page.expect_response(lambda r: "/pick/concern-student/" in r.url and r.status == 200):
        box.type("wxm")
    choice = page.locator(f'input[name=student][value="{world.stu_a1.code}"]')
    choice.wait_for()
    assert "王小明" in page.locator("[data-picker-results]").inner_text()
    assert page.locator("input[name=student]").count() == 1  # 李小红 (A2) is not the class's
    assert no_horizontal_overflow(page)
    box.press("Tab")  # the Search button, then the result
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert choice.is_checked()
    assert page.locator("input[name=seen_on]").input_value()  # today, readable by the date input
    page.locator("textarea[name=what_seen]").fill("课间一个人哭")
    page.locator("input[name=urgency]").first.check()
    with page.expect_navigation():
        page.get_by_test_id("concern-form").locator("button.btn-primary").click()
    assert Concern.objects.filter(reporter=world.head_teacher, student=world.stu_a1).exists()


def test_another_schools_student_never_shows(world, page, login):
    login(world.head_teacher_b.username, PASSWORD)
    page.goto("/alerts/concerns/new/")
    with page.expect_response(lambda r: "/pick/concern-student/" in r.url):
        page.locator("input[name=student__q]").type("王")
    page.wait_for_timeout(200)
    assert "王小明" not in page.content()
