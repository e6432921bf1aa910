"""Students take the questionnaire in Chromium: offline and back, reload and resume, hand in;
and twenty students of one class sitting complete it.

Selectors: the questionnaire form is form[data-take]; the shown screen has class is-current
(data-screen = intro | item | review); options are label.take-option; data-testid="take-next",
"take-submit", "take-status", "take-done".
"""

from __future__ import annotations

import datetime
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from xinqiao.people.services import create_student
from xinqiao.screening import services as screening
from xinqiao.screening.models import AnswerDraft, Assignment, Response

from .conftest import CHROMIUM_ARGS, PHONE  # noqa: F401 - documents the shared setup

pytestmark = [pytest.mark.e2e]

CURRENT_INDEX = (
    "() => [...document.querySelectorAll('[data-screen]')]"
    ".findIndex(e => e.classList.contains('is-current'))"
)


def open_sitting(world):
    cache.clear()
    now = timezone.now()
    campaign = screening.create_campaign(
        actor=world.psych,
        name="2026 秋季心理普查",
        term=world.term,
        kind="routine_autumn",
        owner_unit=world.school_a,
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(days=7),
    )
    screening.open_campaign(actor=world.psych, campaign=campaign)
    campaign.refresh_from_db()
    sitting = screening.open_sitting(
        actor=world.psych, campaign=campaign, school_class=world.class_a1
    )
    return campaign, sitting


def enter(page, sitting, student) -> None:
    page.goto("/take/")
    page.locator("input[name=code]").fill(sitting.code.lower())
    with page.expect_navigation():
        page.locator("form[data-testid=enter-form] button[type=submit]").first.click()
    page.locator("input[name=student_number]").fill(student.student_number)
    with page.expect_navigation():
        page.locator("form[data-testid=enter-form] button[type=submit]").first.click()
    page.locator("form[data-take].is-enhanced").wait_for()


def current(page) -> tuple[int, str]:
    index, kind = page.evaluate(
        f"() => {{ const i = ({CURRENT_INDEX})(); "
        "return [i, document.querySelectorAll('[data-screen]')[i].dataset.screen]; }"
    )
    return index, kind


def step(page, option: int = 0) -> str:
    """Answer the shown question (or go past an intro); returns the kind of screen it was."""
    index, kind = current(page)
    if kind == "review":
        return kind
    if kind == "item":
        page.locator(".take-screen.is-current label.take-option").nth(option).click()
    else:
        page.get_by_test_id("take-next").click()
    page.wait_for_function(f"i => ({CURRENT_INDEX})() !== i", arg=index)
    return kind


def drafts_of(assignment) -> int:
    return AnswerDraft.objects.filter(assignment=assignment).exclude(answer=None).count()


def wait_until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_offline_answers_survive_reload_and_are_handed_in(browser, live_server, world):
    campaign, sitting = open_sitting(world)
    assignment = Assignment.objects.get(campaign=campaign, student=world.stu_a1)
    context = browser.new_context(locale="zh-CN", viewport=PHONE, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        enter(page, sitting, world.stu_a1)
        assert page.locator(".take-screen.is-current h2").is_visible()  # instructions first
        step(page)  # PHQ-A intro
        for _ in range(3):
            step(page, option=1)
        wait_until(lambda: drafts_of(assignment) == 3)

        context.set_offline(True)
        for _ in range(3):
            step(page, option=2)
        page.locator("[data-testid=take-status].is-offline").wait_for()  # "no connection"
        stored = page.evaluate(
            "() => Object.values(JSON.parse(localStorage.getItem(Object.keys(localStorage)"
            ".find(k => k.startsWith('xq.take.')))).answers).length"
        )
        assert stored == 6  # kept in the browser the moment they were given
        assert drafts_of(assignment) == 3  # and not on the server yet

        context.set_offline(False)
        page.reload()  # the browser comes back: the reloaded page merges and sends what it holds
        page.locator("form[data-take].is-enhanced").wait_for()
        wait_until(lambda: drafts_of(assignment) == 6)
        _index, kind = current(page)
        assert kind == "item"
        assert page.locator(".take-screen.is-current").get_attribute("data-item") == "7"  # resumed

        while step(page, option=0) != "review":
            pass
        # ASQ answered "no" throughout: the acuity question was never shown.
        assert page.locator('[data-item="5"][data-instrument="ASQ"]').is_hidden()
        with page.expect_navigation():
            page.get_by_test_id("take-submit").click()
        page.get_by_test_id("take-done").wait_for()
        assert "12355" in page.content()
        assert Response.objects.filter(assignment=assignment).count() == 3
        phq = Response.objects.get(assignment=assignment, instrument_code="PHQ-A")
        assert phq.answers[:6] == [1, 1, 1, 2, 2, 2]
        assert all(t is not None and t >= 0 for t in phq.times[:6])
        assert (
            page.evaluate(
                "() => Object.keys(localStorage).filter(k => k.startsWith('xq.take.')).length"
            )
            == 0
        )
    finally:
        context.close()


def test_twenty_students_of_one_class_complete_the_sitting(browser, live_server, world):
    for i in range(19):
        create_student(
            actor=None,
            student_number=f"G36010220130101{i:03d}9",
            name=f"学生{i}",
            gender="MF"[i % 2],
            birth_date=datetime.date(2013, 1, 1),
            school_class=world.class_a1,
            term=world.term,
        )
    campaign, sitting = open_sitting(world)
    assignments = list(
        Assignment.objects.filter(campaign=campaign, school_class=world.class_a1).select_related(
            "student"
        )
    )
    assert len(assignments) == 20
    contexts, pages = [], []
    try:
        for a in assignments:
            context = browser.new_context(locale="zh-CN", viewport=PHONE, base_url=live_server.url)
            context.set_default_timeout(20_000)
            page = context.new_page()
            enter(page, sitting, a.student)
            contexts.append(context)
            pages.append(page)
        # Lightly parallel: every student answers one screen per round; the browsers run the
        # auto-advance and the batched autosave concurrently.
        active = list(range(len(pages)))
        rounds = 0
        while active and rounds < 60:
            rounds += 1
            before = {}
            for n in active:
                index, kind = current(pages[n])
                before[n] = (index, kind)
                if kind == "item":
                    pages[n].locator(".take-screen.is-current label.take-option").nth(n % 2).click()
                elif kind == "intro":
                    pages[n].get_by_test_id("take-next").click()
            for n in list(active):
                if before[n][1] == "review":
                    active.remove(n)
                    continue
                pages[n].wait_for_function(f"i => ({CURRENT_INDEX})() !== i", arg=before[n][0])
        assert not active
        for page in pages:
            page.get_by_test_id("take-submit").click()
        for page in pages:
            page.get_by_test_id("take-done").wait_for()
    finally:
        for context in contexts:
            context.close()
    assert Response.objects.filter(assignment__campaign=campaign).count() == 60
    assert set(
        Assignment.objects.filter(campaign=campaign, school_class=world.class_a1).values_list(
            "status", flat=True
        )
    ) <= {"completed", "invalid"}
