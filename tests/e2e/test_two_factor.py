"""Two-factor sign-in in a real browser, on a 390 px phone in Chinese: a psychology teacher signs
in with the password, is sent to enrolment, "scans" the QR code (reads the key shown for manual
entry, as an authenticator app would), confirms with the app's code, keeps the recovery codes,
signs out, and signs in again with password + code."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest

from tests.conftest import PASSWORD
from tests.otp import code_at, code_for
from xinqiao.access.models import SealedTOTPDevice

from .conftest import no_horizontal_overflow

pytestmark = [pytest.mark.e2e]
PHONE_390 = {"width": 390, "height": 844}


def _password_step(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) button[type=submit]").click()


def test_psychology_teacher_enrols_signs_out_and_signs_in_with_a_code(browser, live_server, world):
    context = browser.new_context(locale="zh-CN", viewport=PHONE_390, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        _password_step(page, world.psych.username)
        assert "/accounts/two-factor/" in page.url
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.get_by_role("heading", name="设置双因素登录").is_visible()
        assert page.get_by_test_id("two-factor-qr").locator("svg").is_visible()
        assert no_horizontal_overflow(page)
        # Nothing else opens before enrolment.
        page.goto("/students/")
        assert "/accounts/two-factor/" in page.url

        # The authenticator app: the key shown for manual entry (the QR code holds the same).
        secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
        key = b32decode(secret + "=" * (-len(secret) % 8))
        page.locator("input[name=code]").fill(code_at(key, int(time.time()) // 30))
        with page.expect_navigation():
            page.get_by_role("button", name="确认").click()
        assert page.get_by_test_id("two-factor-enrolled").is_visible()
        assert page.get_by_test_id("recovery-codes").locator("li").count() == 10
        assert no_horizontal_overflow(page)
        with page.expect_navigation():
            page.get_by_test_id("two-factor-continue").click()
        assert page.url == live_server.url + "/students/"  # where the teacher was going
        assert page.get_by_test_id("current-user").count() == 1

        # Sign out (the drawer on a phone), then both steps again.
        page.goto("/")
        page.get_by_test_id("nav-toggle").click()
        with page.expect_navigation():
            page.get_by_role("button", name="退出登录").click()
        _password_step(page, world.psych.username)
        assert "/accounts/two-factor/verify/" in page.url
        assert no_horizontal_overflow(page)
        device = SealedTOTPDevice.objects.get(user=world.psych, confirmed=True)
        assert device.bin_key == key
        page.locator("input[name=code]").fill(code_for(device))  # the app's next code
        with page.expect_navigation():
            page.get_by_test_id("second-step").locator("button[type=submit]").click()
        assert page.url == live_server.url + "/"
        assert page.get_by_test_id("current-user").count() == 1
        assert no_horizontal_overflow(page)
    finally:
        context.close()
