"""A class signs in with personal codes, at phone width in Chinese: the head teacher prints the
slips and shows the sitting (its QR code on the projector page); a student opens the sitting's
QR address, types the personal code from the slip, answers and hands in."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from xinqiao.screening.models import Assignment, AssignmentStatus, Response

from ..factories import PASSWORD
from .conftest import no_horizontal_overflow, sign_in
from .test_screening_take import current, open_sitting, step

pytestmark = [pytest.mark.e2e]

PHONE_390 = {"width": 390, "height": 844}


def test_student_signs_in_with_the_personal_code_and_hands_in(browser, live_server, world):
    cache.clear()
    campaign, sitting = open_sitting(world)
    staff = browser.new_context(locale="zh-CN", viewport=PHONE_390, base_url=live_server.url)
    student = browser.new_context(locale="zh-CN", viewport=PHONE_390, base_url=live_server.url)
    staff.set_default_timeout(15_000)
    student.set_default_timeout(15_000)
    try:
        # The head teacher prints the class's slips: the first print issues the codes.
        teacher = staff.new_page()
        sign_in(teacher, world.head_teacher.username, PASSWORD)
        teacher.goto(f"/screening/classes/{world.class_a1.code}/slips/")
        slip = teacher.get_by_test_id("slip").filter(has_text=world.stu_a1.name)
        printed = slip.get_by_test_id("slip-code").inner_text().strip()
        assert len(printed) == 9  # ABCD-EFGH
        assert slip.locator("svg.slip-qr").count() == 1
        assert "签到条" in teacher.content()
        assert no_horizontal_overflow(teacher)

        # The projector page shows the code and a QR code of the sign-in address with it.
        teacher.goto(f"/screening/sittings/{sitting.key}/")
        qr = teacher.get_by_test_id("sitting-qr")
        assert qr.locator("svg").count() == 1
        sitting_address = qr.get_attribute("data-url")
        assert sitting_address == f"{live_server.url}/take/?code={sitting.code}"
        assert no_horizontal_overflow(teacher)

        # The personal QR code's address fills in the personal code (and leaves the address bar).
        page = student.new_page()
        page.goto(f"/take/#p={printed.replace('-', '')}")
        assert page.locator("input[name=personal_code]").input_value() == printed
        assert "#p=" not in page.url

        # A student scans the sitting's QR code and types the code from the slip.
        page.goto(sitting_address)
        assert page.locator("input[name=code]").input_value() == sitting.code
        assert "没有个人码？" in page.content()
        assert page.locator("input[name=student_number]").count() == 0
        page.locator("input[name=personal_code]").fill(printed.lower())
        assert no_horizontal_overflow(page)
        with page.expect_navigation():
            page.get_by_test_id("enter-start").click()
        page.locator("form[data-take].is-enhanced").wait_for()
        while step(page, option=0) != "review":
            pass
        assert current(page)[1] == "review"
        with page.expect_navigation():
            page.get_by_test_id("take-submit").click()
        page.get_by_test_id("take-done").wait_for()
        assert no_horizontal_overflow(page)

        assignment = Assignment.objects.get(campaign=campaign, student=world.stu_a1)
        # Handed in (the same answer throughout, answered fast, may fail the validity checks).
        assert assignment.status in (AssignmentStatus.COMPLETED, AssignmentStatus.INVALID)
        assert Response.objects.filter(assignment=assignment).count() == 3
    finally:
        staff.close()
        student.close()
