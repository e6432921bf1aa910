"""A parent on a phone (390×844, zh-CN): signs in and lands on their family home, opens their
child, gives consent for the screening that asks for it, reads the guidance and finds the
hotlines as tappable tel: links; no page scrolls sideways or shows an English word."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.core.test_chinese_pages import ALLOWED
from xinqiao.screening import services as screening_services
from xinqiao.screening.models import Assignment, AssignmentStatus, Consent, ConsentBasis

from .conftest import no_horizontal_overflow

pytestmark = [pytest.mark.e2e]

PHONE_390 = {"width": 390, "height": 844}
WORD = re.compile(r"[A-Za-z]{3,}")


def _check(page, data_words: set[str]) -> None:
    """The page fits 390 px and its visible text has no English word (the allow-list of
    tests/core/test_chinese_pages.py, plus data such as the user name)."""
    assert page.evaluate("getComputedStyle(document.body).display") == "flex"  # CSS loaded
    assert no_horizontal_overflow(page), page.url
    words = set(WORD.findall(page.locator("body").inner_text())) - ALLOWED - data_words
    assert words == set(), f"{page.url}: {sorted(words)}"


def test_parent_gives_consent_on_a_phone(page, login, world, live_server):
    now = timezone.now()
    campaign = screening_services.create_campaign(
        actor=world.psych,
        name="七年级新学期心理健康筛查",
        term=world.term,
        kind="term_start",
        owner_unit=world.school_a,
        units=[world.class_a1],
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(days=10),
        consent_basis=ConsentBasis.GUARDIAN_CONSENT,
    )
    screening_services.open_campaign(actor=world.psych, campaign=campaign)
    data_words = set(WORD.findall(world.parent.username))
    page.set_viewport_size(PHONE_390)

    login(world.parent.username, PASSWORD)
    assert page.url == live_server.url + "/"  # the landing page: the family panels on home
    panel = page.locator('[data-panel="family.children"]')
    assert (
        panel.locator('[data-count="family.children.consents"]').get_attribute("data-value") == "1"
    )
    _check(page, data_words)

    panel.get_by_role("link", name=re.compile("王小明")).click()
    page.wait_for_url(f"**/family/children/{world.stu_a1.code}/")
    assert "甲区第一中学 七(1)班" in page.get_by_test_id("child-school").inner_text()
    _check(page, data_words)

    request = page.locator(f'[data-campaign="{campaign.code}"]')
    request.get_by_label("我同意孩子参加").check()
    request.get_by_label("给学校的留言（选填）").fill("孩子知道，愿意参加")
    with page.expect_navigation():
        request.get_by_role("button", name="提交我的答复").click()
    state = page.locator(f'[data-campaign="{campaign.code}"] [data-testid="consent-state"]')
    assert "同意" in state.inner_text()
    _check(page, data_words)
    consent = Consent.objects.get(campaign=campaign, student=world.stu_a1)
    assert (consent.granted, consent.recorded_by_id) == (True, world.parent.pk)
    assignment = Assignment.objects.get(campaign=campaign, student=world.stu_a1)
    assert assignment.status == AssignmentStatus.ASSIGNED

    page.get_by_role("link", name="家长指南").first.click()
    page.wait_for_url("**/family/guidance/")
    assert page.locator("[data-guidance]").count() == 4
    _check(page, data_words)
    for number in ("12355", "12356", "110", "120"):
        link = page.locator(f'main a[href="tel:{number}"]')
        assert link.count() >= 1, number
        assert link.first.is_visible()
