"""Login lockout and the language switch, in a real browser."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e]


def _translated(text: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def _submit_login(page, username: str, password: str) -> None:
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()


def test_login_with_the_right_password_reaches_home(page, login, world, live_server):
    login(world.psych.username, PASSWORD)
    assert page.url == live_server.url + "/"
    assert page.get_by_test_id("current-user").is_visible()


def test_lockout_after_five_failed_attempts(page, world):
    page.goto("/accounts/login/")
    for _attempt in range(4):
        _submit_login(page, world.head_teacher.username, "wrong-Passw0rd!")
        assert page.get_by_test_id("locked-out").count() == 0
        assert page.locator("input[name=password]").is_visible()
    _submit_login(page, world.head_teacher.username, "wrong-Passw0rd!")
    assert page.get_by_test_id("locked-out").is_visible()
    # Locked means locked: even the right password is refused now.
    page.goto("/accounts/login/")
    _submit_login(page, world.head_teacher.username, PASSWORD)
    assert page.get_by_test_id("locked-out").is_visible()
    assert page.get_by_test_id("current-user").count() == 0


def test_lockout_of_one_account_leaves_others_alone(page, login, world):
    page.goto("/accounts/login/")
    for _attempt in range(5):
        _submit_login(page, world.mentor.username, "wrong-Passw0rd!")
    assert page.get_by_test_id("locked-out").is_visible()
    login(world.psych.username, PASSWORD)
    assert page.get_by_test_id("current-user").is_visible()


def test_language_switch_changes_the_ui_to_english_and_back(page, world):
    page.goto("/accounts/login/")
    button = page.locator("form:has(input[name=password]) button[type=submit]")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert button.inner_text().strip() == _translated("Sign in", "zh-hans")

    with page.expect_navigation():
        page.locator("select[name=language]").select_option("en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert button.inner_text().strip() == "Sign in"

    # The choice sticks across pages.
    page.goto("/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "en"

    with page.expect_navigation():
        page.locator("select[name=language]").select_option("zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert button.inner_text().strip() == _translated("Sign in", "zh-hans")


def test_language_switch_after_login_keeps_the_user_signed_in(page, login, world):
    login(world.psych.username, PASSWORD)
    home = page.url
    with page.expect_navigation():
        page.locator("select[name=language]").select_option("en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.url == home
    assert page.get_by_test_id("current-user").is_visible()
