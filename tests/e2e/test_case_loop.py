"""Issue 5, "Done when": the whole loop in the demo city, in Chromium, against the live server.

The demo city (seed_demo_city, a small one, without the demo cases so the psychiatrist's inbox
starts empty) at 明湖区育才中学 with its demo logins:

1. demo_psych_mhyc_1 creates and opens a screening campaign and a sitting for 七(1)班 (UI); a
   student of the class answers the questionnaire in a phone-sized browser with PHQ-A item 9 = 2.
2. An ORANGE alert is on the psychology teacher's worklist; she acknowledges it and records the
   verification interview, raising it to RED; the case page opens at red.
3. She adds the usual team, records the guardian contact with the signed acknowledgement (a real
   PDF upload) and the guardian's consent, and refers the student to 示例市精神卫生中心 /
   demo_psychiatrist_1_1 on that consent.
4. demo_psychiatrist_1_1 sees only that student (another student's profile is 404), marks the
   referral received and seen, writes feedback; the psychology teacher reads it on the case page
   and records a follow-up. The head teacher of 七(1)班 sees the student as "needs attention" and
   no level.
5. +15 days (time_machine; pytest-django's live server is a thread of this process, so the server
   travels too): a follow-up, step-down request red → orange, the leader approves.
6. +29 days: two improving follow-ups, a re-screen below the orange thresholds (the campaign and
   sitting through the UI; the student's hand-in through the real taking services), orange →
   yellow requested and approved.
7. +57 days: closing requested and approved; the closed case is in the archive on the student's
   profile.

Every staff step goes through the UI. Sessions last 30 minutes, so each phase signs in afresh.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.alerts.models import Alert
from xinqiao.cases.models import Case, FollowUp, GuardianContact, Referral
from xinqiao.demo.cases import tiny_pdf
from xinqiao.demo.generator import DEMO_PASSWORD, seed_demo_city
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Student
from xinqiao.screening.models import Assignment, Response
from xinqiao.screening.taking import services as taking
from xinqiao.screening.taking.session import Binding

from .conftest import DESKTOP, PHONE, sign_in

pytestmark = [pytest.mark.e2e]

STUDENTS = 600
PSYCH, LEADER, HEAD = "demo_psych_mhyc_1", "demo_school_admin_mhyc", "demo_head_mhyc_7_1"
PSYCHIATRIST = "demo_psychiatrist_1_1"
HOSPITAL = "示例市精神卫生中心"
ADVICE = "建议学校每周面谈一次，减轻作业量，留意睡眠与情绪变化；四周后复诊。"
LEVEL_WORDS = ["红色", "橙色", "黄色", "Red", "Orange", "Yellow", "data-level"]
CURRENT = (
    "() => { const s = [...document.querySelectorAll('[data-screen]')];"
    " const i = s.findIndex(e => e.classList.contains('is-current'));"
    " return [i, s[i].dataset.screen, s[i].dataset.instrument || '', s[i].dataset.item || ''];"
    " }"
)
DAY = datetime.timedelta(days=1)


def _local(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


class Browser:
    """Sign-ins of this test: each is a fresh context, closed at the end of its phase."""

    def __init__(self, browser, live_server) -> None:
        self.browser, self.url, self.contexts = browser, live_server.url, []

    def open(self, viewport=DESKTOP):
        context = self.browser.new_context(locale="zh-CN", viewport=viewport, base_url=self.url)
        context.set_default_timeout(20_000)
        # Chromium asks for /favicon.ico after each page has loaded; with SQLite the live server
        # shares one connection between its threads, so that stray request (it saves the
        # session) could run at the same time as the next page: don't ask.
        context.route("**/favicon.ico", lambda route: route.abort())
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    def sign_in(self, username: str):
        page = self.open()
        sign_in(page, username, DEMO_PASSWORD)
        assert "/accounts/login/" not in page.url, f"{username} could not sign in"
        return page

    def close(self, page) -> None:
        self.contexts.remove(page.context)
        page.context.close()

    def close_all(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts = []


def click(page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).first.click()


def submit(page, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").first.click()


# --- screening ----------------------------------------------------------------------------
def open_sitting(page, name: str, class71: OrgUnit, *, kind: str) -> str:
    """The psychology teacher: campaign form → open → class 七(1)班 → sitting → its code."""
    page.goto("/screening/")
    click(page, "a[href$='/screening/new/']")
    form = page.get_by_test_id("campaign-form")
    now = timezone.now()
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=opens_at]").fill(_local(now - datetime.timedelta(minutes=5)))
    form.locator("input[name=closes_at]").fill(_local(now + 14 * DAY))
    form.locator("select[name=consent_basis]").select_option("statutory_duty")
    form.locator("input[name=legal_basis_note]").fill("《精神卫生法》第十六条")
    submit(page, "[data-testid=campaign-form]")
    click(page, "button[name=to][value=open]")
    click(page, f"a[href*='/classes/{class71.code}/']")
    click(page, "form[action$='/sitting/'] button[type=submit]")
    return page.get_by_test_id("sitting-code").inner_text().strip()


def hand_in_in_browser(page, code: str, student: Student, *, seed: int) -> None:
    """The student: sitting code, 学籍号, then every question at a human pace (the too-fast check
    wants a median of at least a second). PHQ-A item 9 = 2; the ASQ and PHQ-A's yes/no suicide
    questions "no"; other answers 0 or 1, so only the item-9 rule fires."""
    rng = random.Random(seed)
    page.goto("/take/")
    page.locator("input[name=code]").fill(code.lower())
    submit(page, "form[data-testid=enter-form]")
    page.locator("input[name=student_number]").fill(student.student_number)
    submit(page, "form[data-testid=enter-form]")
    page.locator("form[data-take].is-enhanced").wait_for()
    deadline = time.monotonic() + 180
    while True:
        assert time.monotonic() < deadline, "the questionnaire took too long"
        index, kind, instrument, item = page.evaluate(CURRENT)
        if kind == "review":
            page.get_by_test_id("take-submit").click()
            page.get_by_test_id("take-done").wait_for()
            return
        if kind == "intro":
            page.get_by_test_id("take-next").dispatch_event("click")
        else:
            if instrument == "ASQ" or (instrument, item) in {("PHQ-A", "12"), ("PHQ-A", "13")}:
                option = 0
            elif (instrument, item) == ("PHQ-A", "9"):
                option = 2
            else:
                option = rng.randrange(2)
            time.sleep(1.15)
            page.locator(".take-screen.is-current label.take-option").nth(option).dispatch_event(
                "click"
            )
        while page.evaluate(CURRENT)[0] == index:
            time.sleep(0.05)


def hand_in_by_service(code: str, student: Student) -> None:
    """The re-screen: the student's hand-in through the real taking services (sign in with the
    sitting code, autosave, submit) with answers well below every threshold."""
    signed = taking.sign_in(sitting_code=code, student_number=student.student_number)
    assert signed.assignment_id is not None
    binding = Binding(signed.assignment_id, signed.nonce)
    bound = taking.load_bound(binding)
    low = {"PHQ-A": [1, 0, 1, 0, 0, 1, 0, 0, 0], "GAD-7": [0, 1, 0, 0, 1, 0, 0]}
    answers, seq = [], 0
    for inst in bound.battery():
        for n, item in enumerate(inst.definition.items):
            if item.ask_if_any_of:
                continue  # follow-up questions are not asked after "no" / "not at all"
            codes = sorted(inst.codes[item.id])
            values = low.get(inst.code, [])
            value = values[n] if n < len(values) else codes[0]
            seq += 1
            answers.append({"i": inst.code, "q": item.id, "v": value, "s": 4.0, "n": seq})
    taking.save_answers(binding=binding, raw_answers=answers)
    taking.submit_answers(binding=binding, client_key=uuid.uuid4().hex, client_seq=seq)


# --- the case page -------------------------------------------------------------------------
def open_case_from_list(page, student: Student) -> None:
    page.goto("/cases/")
    row = page.locator("[data-testid=case-list] tr[data-case]", has_text=student.name)
    with page.expect_navigation():
        row.locator("a").first.click()
    assert page.get_by_test_id("case-student").inner_text().strip() == student.name


def case_level(page) -> str:
    return page.locator("div:has(> h1[data-testid=case-student]) [data-level]").first.get_attribute(
        "data-level"
    )


def record_follow_up(page, *, trend: str, note: str, done_at: datetime.datetime | None = None):
    click(page, "a[href$='/follow-ups/new/']")
    form = page.locator("form[data-testid=care-form]")
    if done_at is not None:
        form.locator("input[name=done_at]").fill(_local(done_at))
    form.locator("input[name=method][value=interview]").check()
    form.locator(f"input[name=trend][value={trend}]").check()
    form.locator("textarea[name=note]").fill(note)
    submit(page, "form[data-testid=care-form]")
    assert "/follow-ups/new/" not in page.url, page.locator(".invalid-feedback").all_inner_texts()


def request_step_down(page, reason: str) -> None:
    rules = page.locator("[data-testid=step-down-rules] li")
    assert rules.count() >= 2
    unmet = page.locator("[data-testid=step-down-rules] li[data-met=no]")
    form = page.locator("form[data-testid=step-down-request-form]")
    form.locator("textarea[name=reason]").fill(reason)
    submit(page, "form[data-testid=step-down-request-form]")
    assert page.get_by_test_id("step-down-pending").is_visible(), unmet.all_inner_texts()


def leader_approves(pages: Browser, student: Student) -> None:
    leader = pages.sign_in(LEADER)
    leader.goto("/cases/overdue/")
    row = leader.locator("a[href^='/cases/']", has_text=student.name)
    assert row.count() >= 1, "the step-down request is not on the leader's board"
    with leader.expect_navigation():
        row.first.click()
    with leader.expect_navigation():
        leader.locator(
            "form[data-testid=step-down-decide-form] button[name=decision][value=approve]"
        ).click()
    assert leader.get_by_test_id("step-down-pending").count() == 0


# --- the test ------------------------------------------------------------------------------
def test_the_whole_loop_in_the_demo_city(browser, live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    seed_demo_city(students=STUDENTS, seed=2026)
    head71 = RoleAssignment.objects.get(user__username=HEAD, role=Role.HEAD_TEACHER)
    class71 = head71.org_unit
    pupils = list(
        Student.objects.filter(school_class=class71, user__isnull=True).order_by("student_number")
    )
    student, other = pupils[0], pupils[1]
    hospital = OrgUnit.objects.get(name=HOSPITAL)
    ack = tmp_path / "家长告知书回执.pdf"
    ack.write_bytes(tiny_pdf("Guardian acknowledgement, signed"))
    pages = Browser(browser, live_server)
    started = time.monotonic()
    try:
        with time_machine.travel(timezone.now(), tick=True) as traveller:
            # --- 1. the screening: PHQ-A item 9 = 2 ------------------------------------------
            psych = pages.sign_in(PSYCH)
            code = open_sitting(psych, "育才中学2026秋季心理普查", class71, kind="routine_autumn")
            psych.goto("/")  # the sitting screen polls; the student's answers need the server
            kid = pages.open(PHONE)
            hand_in_in_browser(kid, code, student, seed=5)
            pages.close(kid)
            first = Assignment.objects.get(student=student, resit_of=None)
            assert first.status == "completed", list(
                Response.objects.filter(assignment=first).values_list("instrument_code", "flags")
            )
            alert = Alert.objects.get(student=student)
            assert (alert.level, alert.source, alert.status) == ("orange", "screening", "new")
            assert "orange.phq_item9" in alert.triggers.values_list("rule", flat=True)

            # --- 2. the worklist: orange → verified as red --------------------------------------
            psych.goto("/cases/worklist/")
            row = psych.locator("[data-row=alert]", has_text=student.name)
            assert row.count() == 1
            assert row.locator("[data-level]").get_attribute("data-level") == "orange"
            with psych.expect_navigation():
                row.locator("a[href*='/alerts/']").click()
            click(psych, "form[action$='/acknowledge/'] button[type=submit]")
            click(psych, "a[href$='/verify/']")
            psych.locator("input[name=outcome][value=changed]").check()
            psych.locator("select[name=new_level]").select_option("red")
            psych.locator("textarea[name=reason]").fill(
                "访谈中学生承认有自伤想法和具体计划，提升为红色。"
            )
            submit(psych, "form:has(textarea[name=reason])")
            alert.refresh_from_db()
            assert (alert.status, alert.outcome, alert.level) == ("verified", "changed", "red")

            # --- 3. the case page at red: team, guardian contact, referral ----------------------
            open_case_from_list(psych, student)
            assert case_level(psych) == "red"
            assert psych.get_by_test_id("helplines").is_visible()
            click(psych, "form[action$='/team/add-usual/'] button[type=submit]")
            assert psych.locator("[data-testid=team-member]").count() >= 3
            click(psych, "a[href$='/guardian-contacts/new/']")
            form = psych.locator("form[data-testid=care-form]")
            form.locator("input[name=method][value=phone]").check()
            form.locator("textarea[name=what_was_said]").fill(
                "电话告知家长学生目前为红色预警，需24小时陪护并尽快就诊。"
            )
            form.locator("textarea[name=guardian_response]").fill("家长同意转介，签署告知书。")
            form.locator("input[name=consent][value=given]").check()
            form.locator("select[name=informed_of_level]").select_option("red")
            form.locator("input[name=acknowledgement]").set_input_files(str(ack))
            submit(psych, "form[data-testid=care-form]")
            assert psych.get_by_test_id("ack-link").count() == 1
            contact = GuardianContact.objects.get(case__student=student)
            assert contact.acknowledgement.content_type == "application/pdf"
            assert contact.acknowledgement.size == ack.stat().st_size

            click(psych, "[data-testid=referral-create-link]")
            form = psych.locator("form[data-testid=referral-form]")
            doctor = RoleAssignment.objects.get(user__username=PSYCHIATRIST).user
            form.locator("select[name=destination]").select_option(f"{hospital.code}:{doctor.pk}")
            form.locator("textarea[name=reason]").fill(
                "PHQ-A第9题2分，访谈确认有自伤计划，请协助评估诊治。"
            )
            form.locator("input[name=consent_basis][value=guardian_consent]").check()
            form.locator("select[name=consent_contact]").select_option(str(contact.pk))
            submit(psych, "form[data-testid=referral-form]")
            assert psych.locator("[data-testid=referral-row]").count() == 1
            case_url = psych.url.split("#")[0]

            # --- 4. the psychiatrist: only this student; received, seen, feedback -------------
            doc = pages.sign_in(PSYCHIATRIST)
            doc.goto("/cases/referrals/")
            rows = doc.locator("[data-testid=referral-inbox] tbody tr")
            assert rows.count() == 1
            assert student.name in rows.first.inner_text()
            assert other.name not in doc.content()
            assert doc.goto(f"/students/{other.code}/").status == 404
            assert doc.goto(f"/students/{student.code}/").status == 200
            doc.goto("/cases/referrals/")
            click(doc, "[data-testid=referral-inbox] tbody tr a")
            click(doc, "form[data-testid=receive-form] button[type=submit]")
            click(doc, "form[data-testid=seen-form] button[type=submit]")
            click(doc, "a[href$='/feedback/']")
            form = doc.locator("form[data-testid=feedback-form]")
            form.locator("select[name=diagnosis_category]").select_option("F30-F39")
            form.locator("textarea[name=advice_for_school]").fill(ADVICE)
            review = timezone.localdate() + 28 * DAY
            form.locator("input[name=next_review_on]").fill(review.isoformat())
            submit(doc, "form[data-testid=feedback-form]")
            assert doc.get_by_test_id("referral-feedback").is_visible()
            assert Referral.objects.get(case__student=student).status == "feedback"

            psych.goto(case_url)
            feedback = psych.locator("[data-testid=referral-panel] [data-testid=referral-feedback]")
            assert ADVICE in feedback.inner_text()
            record_follow_up(
                psych, trend="stable", note="就诊后面谈：情绪仍低落，按时服药，无自伤行为。"
            )

            head = pages.sign_in(HEAD)
            head.goto("/cases/my-class/")
            attention = head.get_by_test_id("class-attention")
            assert student.name in attention.inner_text()
            section = attention.inner_html()
            assert not [w for w in LEVEL_WORDS if w in section]
            assert head.goto(case_url).status == 403
            pages.close_all()

            # --- 5. +15 days: red → orange -------------------------------------------------
            traveller.shift(15 * DAY)
            psych = pages.sign_in(PSYCH)
            open_case_from_list(psych, student)
            record_follow_up(psych, trend="improving", note="情绪好转，睡眠改善，能正常上课。")
            request_step_down(psych, "红色已满两周，医院反馈建议降级，近期随访持续改善。")
            leader_approves(pages, student)
            case = Case.objects.get(student=student)
            assert (case.status, case.level) == ("open", "orange")
            pages.close_all()

            # --- 6. +29 days: two improving follow-ups, a re-screen, orange → yellow -------
            traveller.shift(29 * DAY)
            psych = pages.sign_in(PSYCH)
            code = open_sitting(psych, "育才中学期末复评", class71, kind="exam_season")
            psych.goto("/")
            hand_in_by_service(code, student)
            open_case_from_list(psych, student)
            record_follow_up(
                psych,
                trend="improving",
                note="面谈：主动分享近况，笑容增多。",
                done_at=timezone.now() - 14 * DAY,
            )
            record_follow_up(psych, trend="improving", note="面谈：情绪稳定，与同学交往正常。")
            psych.reload()
            assert psych.locator("[data-testid=step-down-rules] li[data-met=no]").count() == 0
            request_step_down(psych, "橙色已满四周，两次随访改善，复评低于橙色阈值。")
            leader_approves(pages, student)
            case.refresh_from_db()
            assert (case.status, case.level) == ("open", "yellow")
            pages.close_all()

            # --- 7. +57 days: closed, in the archive ------------------------------------------
            traveller.shift(57 * DAY)
            psych = pages.sign_in(PSYCH)
            open_case_from_list(psych, student)
            request_step_down(psych, "黄色关注已满八周，状态稳定，建议结案。")
            leader_approves(pages, student)
            case.refresh_from_db()
            assert case.status == "closed"
            psych.goto(case_url)
            assert psych.get_by_test_id("case-closed").is_visible()
            psych.goto(f"/students/{student.code}/")
            archive = psych.locator("[data-testid=cases-archive] [data-row=archived-case]")
            assert archive.count() == 1
            closed_on = timezone.localtime(case.closed_at).strftime("%Y-%m-%d")
            assert closed_on in archive.inner_text()
            assert (
                archive.locator(f"a[href='{case_url.replace(live_server.url, '')}']").count() == 1
            )
    finally:
        pages.close_all()
    print(f"the loop took {time.monotonic() - started:.0f} s")

    kinds = list(case.level_changes.order_by("at", "id").values_list("kind", "to_level"))
    assert kinds == [
        ("opened", "red"),
        ("stepped_down", "orange"),
        ("stepped_down", "yellow"),
        ("closed", ""),
    ]
    assert all(c.approved_by.username == LEADER for c in case.level_changes.exclude(kind="opened"))
    assert FollowUp.objects.filter(case=case).count() == 4
