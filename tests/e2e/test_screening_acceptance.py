"""Acceptance (issue 4, "Done when"), walked through the UI in Chromium.

1. School A's psychology teacher signs in, creates the autumn campaign in the campaign form
   (default battery), opens it, opens a sitting for class A1 and reads the code off the classroom
   screen.
2. Twenty students enter the code and their 学籍号 and answer in parallel browser contexts. Valid
   students stay at least ~1.1 s on each question (the too-fast check flags a median under 1 s) and
   give varied answers (extreme-fast and repeated-pattern checks); one student answers PHQ-A
   item 9 positively; one student clicks through as fast as the page allows, so the too-fast
   check marks the questionnaire invalid. A 21st student of the class does not sit.
3. The results page lists every sitter with scores and flags, the critical student first, the
   invalid one flagged.
4. The head teacher of A1 sees completion only: who is missing, no scores, bands or item texts.
5. The district admin sees aggregates with small cells suppressed ("*", docs/disclosure.md).
6. A user of school B gets 404 everywhere.
"""

from __future__ import annotations

import datetime
import random
import re
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from xinqiao.instruments.engine import get_definition
from xinqiao.people.services import create_student
from xinqiao.screening.models import Assignment, Campaign, Response

from ..conftest import PASSWORD
from .conftest import DESKTOP, PHONE, sign_in

pytestmark = [pytest.mark.e2e]

CAMPAIGN_NAME = "甲校2026秋季心理普查（验收）"
SLOW_SECONDS = 1.15  # per question for valid students (too_fast: median < 1.0 s)
CURRENT = (
    "() => { const s = [...document.querySelectorAll('[data-screen]')];"
    " const i = s.findIndex(e => e.classList.contains('is-current'));"
    " return [i, s[i].dataset.screen, s[i].dataset.instrument || '', s[i].dataset.item || '',"
    " s[i].querySelectorAll('label.take-option').length]; }"
)
# Yes/no questions that are critical (answered "no" except by the critical student) — and the
# ASQ, answered "no" throughout so its acuity question stays hidden.
CRITICAL = {("PHQ-A", "9"), ("PHQ-A", "12"), ("PHQ-A", "13")}


def _local(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def _sign_in(browser, live_server, username: str):
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm buttons
    sign_in(page, username, PASSWORD)
    return context, page


class Student:
    """One browser student: answers when ready, never blocking the others."""

    def __init__(self, page, student, *, fast: bool, critical: bool, seed: int) -> None:
        self.page, self.student, self.fast, self.critical = page, student, fast, critical
        self.rng = random.Random(seed)
        self.waiting_from: int | None = None
        self.clicked_at = 0.0
        self.shown_at = time.monotonic()
        self.screen = page.evaluate(CURRENT)
        self.done = False

    def option(self, instrument: str, item: str, count: int) -> int:
        if instrument == "ASQ" or (instrument, item) in CRITICAL:
            return 1 if self.critical and (instrument, item) == ("PHQ-A", "9") else 0
        if self.fast:
            return 0
        return self.rng.randrange(count)

    def tick(self) -> None:
        if self.done:
            return
        if self.waiting_from is not None:
            if time.monotonic() - self.clicked_at < 0.3:  # the page moves on after 350 ms
                return
            screen = self.page.evaluate(CURRENT)
            if screen[0] == self.waiting_from:
                return
            self.waiting_from, self.screen, self.shown_at = None, screen, time.monotonic()
        index, kind, instrument, item, count = self.screen
        if kind == "review":
            self.page.get_by_test_id("take-submit").click()
            self.done = True
        elif kind == "intro":
            self.page.get_by_test_id("take-next").dispatch_event("click")
            self.waiting_from, self.clicked_at = index, 0.0
        elif self.fast or time.monotonic() - self.shown_at >= SLOW_SECONDS:
            n = self.option(instrument, item, count)
            # A click event on the option's label (what a tap does), without Playwright's
            # per-click actionability round trips: twenty students share one driver thread.
            self.page.locator(".take-screen.is-current label.take-option").nth(n).dispatch_event(
                "click"
            )
            self.waiting_from, self.clicked_at = index, time.monotonic()


def _enter(page, code: str, student) -> None:
    page.goto("/take/")
    page.locator("input[name=code]").fill(code)
    with page.expect_navigation():
        page.locator("form[data-testid=enter-form] button[type=submit]").first.click()
    page.locator("input[name=student_number]").fill(student.student_number)
    with page.expect_navigation():
        page.locator("form[data-testid=enter-form] button[type=submit]").first.click()
    page.locator("form[data-take].is-enhanced").wait_for()


def test_done_when_path_through_the_ui(browser, live_server, world):
    cache.clear()
    seeded = [
        create_student(
            actor=None,
            student_number=f"G36010220130201{i:03d}9",
            name=f"验收学生{i:02d}",
            gender="MF"[i % 2],
            birth_date=datetime.date(2013, 2, 1),
            school_class=world.class_a1,
            term=world.term,
        )
        for i in range(20)
    ]
    sitters = [world.stu_a1, *seeded[:19]]  # 20 sit; seeded[19] stays away
    absentee = seeded[19]
    critical_student, fast_student = sitters[3], sitters[7]
    contexts = []
    try:
        # --- 1. the psychology teacher: campaign form → open → sitting → code ----------------
        context, psych = _sign_in(browser, live_server, world.psych.username)
        contexts.append(context)
        psych.goto("/screening/")
        with psych.expect_navigation():
            psych.locator("a[href$='/screening/new/']").click()
        form = psych.get_by_test_id("campaign-form")
        now = timezone.now()
        form.locator("input[name=name]").fill(CAMPAIGN_NAME)
        form.locator("select[name=kind]").select_option("routine_autumn")
        form.locator("input[name=opens_at]").fill(_local(now - datetime.timedelta(minutes=5)))
        form.locator("input[name=closes_at]").fill(_local(now + datetime.timedelta(days=14)))
        form.locator("select[name=consent_basis]").select_option("statutory_duty")
        form.locator("input[name=legal_basis_note]").fill("《精神卫生法》第十六条")
        # term (current), run by (school A), battery (defaults): left as the form offers them
        assert form.locator("input[name=battery_junior]:checked").count() == 3
        with psych.expect_navigation():
            form.locator("button[type=submit]").click()
        assert psych.get_by_test_id("campaign-status").is_visible()
        campaign = Campaign.objects.get(name=CAMPAIGN_NAME)
        assert campaign.status == "draft"
        assert campaign.owner_unit == world.school_a
        assert sorted(
            campaign.battery.filter(stage_band="junior").values_list("instrument_code", flat=True)
        ) == ["ASQ", "GAD-7", "PHQ-A"]
        with psych.expect_navigation():
            psych.locator("button[name=to][value=open]").click()
        campaign.refresh_from_db()
        assert campaign.status == "open"
        assert (
            Assignment.objects.filter(campaign=campaign, school_class=world.class_a1).count() == 21
        )
        with psych.expect_navigation():
            psych.locator(f"a[href*='/classes/{world.class_a1.code}/']").click()
        with psych.expect_navigation():
            psych.locator("form[action$='/sitting/'] button[type=submit]").click()
        code = psych.get_by_test_id("sitting-code").inner_text().strip()
        assert re.fullmatch(r"[A-Z0-9]{6}", code), code
        assert campaign.sittings.get(closed_at=None).code == code

        # --- 2. twenty students in Chromium, in parallel contexts -----------------------------
        students = []
        for n, person in enumerate(sitters):
            ctx = browser.new_context(locale="zh-CN", viewport=PHONE, base_url=live_server.url)
            ctx.set_default_timeout(20_000)
            contexts.append(ctx)
            page = ctx.new_page()
            _enter(page, code.lower(), person)
            students.append(
                Student(
                    page,
                    person,
                    fast=person is fast_student,
                    critical=person is critical_student,
                    seed=n,
                )
            )
        started = time.monotonic()
        deadline = started + 240
        while not all(s.done for s in students):
            assert time.monotonic() < deadline, "students did not finish in time"
            for s in students:
                s.tick()
            time.sleep(0.02)
        for s in students:
            s.page.get_by_test_id("take-done").wait_for()
            assert "12355" in s.page.content()  # the thank-you page with hotlines, no scores
        print(f"20 students answered and handed in in {time.monotonic() - started:.1f} s")

        statuses = dict(
            Assignment.objects.filter(campaign=campaign, resit_of=None).values_list(
                "student_id", "status"
            )
        )
        assert statuses[fast_student.pk] == "invalid"
        assert statuses[absentee.pk] == "assigned"
        assert all(statuses[s.pk] == "completed" for s in sitters if s is not fast_student), (
            statuses
        )
        assert Response.objects.filter(assignment__campaign=campaign).count() == 60
        phq_crit = Response.objects.get(
            assignment__campaign=campaign,
            assignment__student=critical_student,
            instrument_code="PHQ-A",
        )
        assert "9" in phq_crit.critical
        phq_fast = Response.objects.get(
            assignment__campaign=campaign, assignment__student=fast_student, instrument_code="PHQ-A"
        )
        assert "too_fast" in phq_fast.flags
        assert not phq_fast.valid

        # --- 3. results: scores and flags, critical items at the top -------------------------
        with psych.expect_navigation():
            psych.goto(f"/screening/{campaign.code}/")
        with psych.expect_navigation():
            psych.locator(f"a[href*='/results/{world.school_a.code}/']").click()
        rows = psych.locator("[data-testid=results] tbody tr")
        assert rows.count() == 20
        first = rows.nth(0)
        assert "table-danger" in (first.get_attribute("class") or "")
        assert critical_student.name in first.inner_text()
        assert "（PHQ-A） · 第 9 题" in first.inner_text()  # the critical item, labelled
        assert rows.nth(1).get_attribute("class").strip() == "table-warning"  # invalid next
        assert fast_student.name in rows.nth(1).inner_text()
        assert "作答过快" in rows.nth(1).inner_text()  # the too_fast check, labelled
        for i in range(20):
            assert rows.nth(i).locator("td strong").count() >= 3  # a score per instrument
        results_html = psych.content()
        assert all(s.name in results_html for s in sitters)
        assert absentee.name not in results_html
        context.close()
        contexts.remove(context)

        # --- 4. the head teacher: completion only ---------------------------------------------
        context, head = _sign_in(browser, live_server, world.head_teacher.username)
        contexts.append(context)
        head.goto("/screening/my-classes/")
        assert CAMPAIGN_NAME in head.content()
        with head.expect_navigation():
            head.locator(
                f"a[href*='/screening/{campaign.code}/classes/{world.class_a1.code}/']"
            ).click()
        # still to take it: the absentee, and the invalid questionnaire (it needs a re-sit)
        assert "2" in head.get_by_test_id("missing-count").inner_text()
        class_rows = head.locator("[data-testid=class-list] tbody tr")
        assert class_rows.count() == 21
        assert absentee.name in class_rows.nth(0).inner_text()  # who is missing comes first
        assert fast_student.name in class_rows.nth(1).inner_text()
        assert "table-warning" in (class_rows.nth(0).get_attribute("class") or "")
        assert "table-warning" not in (class_rows.nth(2).get_attribute("class") or "")
        html = head.content()
        forbidden = ["PHQ-A", "GAD-7", "ASQ", "too_fast", "minimal", "moderate"]
        for code_ in ("PHQ-A", "GAD-7"):
            defn = get_definition(code_)
            for band in defn.bands.get("total", ()):
                forbidden += [band.label["zh-Hans"], band.label["en"]]
            forbidden += [q.text["zh-Hans"] for q in defn.items][:9]
        leaked = [word for word in forbidden if word in html]
        assert not leaked, leaked
        response = head.goto(f"/screening/{campaign.code}/results/{world.school_a.code}/")
        assert response.status == 403
        context.close()
        contexts.remove(context)

        # --- 5. the district: aggregates, small cells suppressed ------------------------------
        context, district = _sign_in(browser, live_server, world.district_admin.username)
        contexts.append(context)
        district.goto(f"/screening/{campaign.code}/")
        with district.expect_navigation():
            district.locator(f"a[href$='/screening/{campaign.code}/aggregates/']").click()
        table = district.get_by_test_id("aggregate-PHQ-A")
        body = table.locator("tbody tr")
        assert body.count() == 1  # district A, one row
        cells = [c.strip() for c in body.nth(0).locator("td").all_inner_texts()]
        assert cells[1] == "19"  # valid responses (the invalid one is not counted)
        assert "*" in cells[2:]  # hidden: small counts and the cells that would give them back
        for cell in cells[2:]:
            assert cell == "*" or int(cell) == 0 or int(cell) >= 5, cells
        html = district.content()
        assert not [s.name for s in sitters if s.name in html]
        assert not [s.student_number for s in sitters if s.student_number in html]
        response = district.goto(f"/screening/{campaign.code}/results/{world.school_a.code}/")
        assert response.status in (403, 404)
        context.close()
        contexts.remove(context)

        # --- 6. school B sees nothing of it ---------------------------------------------------
        context, other = _sign_in(browser, live_server, world.psych_b.username)
        contexts.append(context)
        other.goto("/screening/")
        assert CAMPAIGN_NAME not in other.content()
        sitting = campaign.sittings.get(code=code)
        for url in (
            f"/screening/{campaign.code}/",
            f"/screening/{campaign.code}/aggregates/",
            f"/screening/{campaign.code}/results/{world.school_a.code}/",
            f"/screening/{campaign.code}/classes/{world.class_a1.code}/",
            f"/screening/sittings/{sitting.key}/",
        ):
            assert other.goto(url).status == 404, url
    finally:
        for ctx in contexts:
            ctx.close()
