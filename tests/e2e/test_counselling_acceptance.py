"""Issue 15, "Done when": the counselling service walked in Chromium at 390 px in Chinese, through
the real pages only (the fixture prepares a second psychology teacher on duty now, a term around
today and two students of 七(1)班 with personal codes):

1. A student signs in with the personal code, takes the questionnaire and hands in; the thank-you
   page leads to the counselling page, where "I need help now" with a message shows the hotlines.
2. The counsellor ON DUTY (the second psychology teacher, not the school's first, whom the old
   routing chose) finds the message in the inbox and the request in the help inbox, to be
   answered within the red alert's acknowledge deadline; she acknowledges it.
3. She books a session from the request; once its time has come (time_machine: the live server
   is a thread of this process, so it travels too) she records it from the appointment with a
   presenting concern, risk check "yes, orange", a summary and process notes.
4. The school leader cannot open the session (404/403) and no page they can reach shows the notes.
5. From the session she raises the alert: ORANGE, source counselling, with its deadlines, in the
   alerts loop (the alert page in the browser).
6. She asks the district station's counsellor for supervision on the session; the supervisor
   opens the request and reads the notes, and that read is an audit event.

Then: a classmate signed in with their own personal code sees and can cancel nothing of the first
student's. Every page visited has no horizontal overflow at 390 px.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.holders import owner_for_school
from xinqiao.access.roles import Role
from xinqiao.alerts.deadlines import deadlines_for
from xinqiao.alerts.models import Alert
from xinqiao.audit.models import AuditEvent
from xinqiao.counselling import help_services, selectors, services
from xinqiao.counselling.models import (
    Appointment,
    AppointmentStatus,
    BookedAs,
    Channel,
    HelpRequest,
    Session,
)
from xinqiao.notifications.models import Notification
from xinqiao.orgs.models import Term
from xinqiao.people.services import create_student, give_new_personal_code

from ..conftest import _user
from ..factories import PASSWORD
from .conftest import no_horizontal_overflow, sign_in
from .test_screening_take import current, open_sitting, step

pytestmark = [pytest.mark.e2e]

PHONE_390 = {"width": 390, "height": 844}
MESSAGE = "我现在很难受，想找老师聊聊"
NOTE = "过程记录-蓝色风筝-7319：来访者谈到夜里独自哭泣"
SUMMARY = "学生因学业与同伴关系情绪低落，已做风险评估，约定下周复谈。"
CONCERN = "最近两周情绪低落，睡眠差"


@pytest.fixture
def walk(world):
    """What the walk needs beyond the world: a term around today (a school's day outside every
    term has no duty), a second psychology teacher on duty all day today, two students of
    七(1)班 with personal codes and a questionnaire sitting for the class."""
    today = timezone.localdate()
    if not (world.term.start_date <= today <= world.term.end_date):
        Term.objects.filter(pk=world.term.pk).update(
            start_date=today - datetime.timedelta(days=30),
            end_date=today + datetime.timedelta(days=60),
        )
    world.on_duty = _user(
        "psych_a_duty", "甲校值班心理老师", world.school_a, Role.PSYCHOLOGY_TEACHER
    )
    services.add_duty_slot(
        actor=world.school_admin,
        unit=world.school_a,
        counsellor=world.on_duty,
        weekday=today.weekday(),
        starts=datetime.time(0, 0),
        ends=datetime.time(23, 59),
    )

    def student(number: str, name: str) -> Any:
        return create_student(
            actor=None,
            student_number=number,
            name=name,
            gender="F",
            birth_date=datetime.date(2013, 3, 1),
            school_class=world.class_a1,
            term=world.term,
        )

    world.walker = student("G360102201303010021", "陈小雨")
    world.classmate = student("G360102201303010045", "周小杰")
    world.walker_code = give_new_personal_code(world.walker)
    world.classmate_code = give_new_personal_code(world.classmate)
    world.campaign2, world.sitting2 = open_sitting(world)
    cache.clear()
    return world


def _context(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(locale="zh-CN", viewport=PHONE_390, base_url=live_server.url)
    context.set_default_timeout(20_000)
    context.route("**/favicon.ico", lambda route: route.abort())
    return context


def _fits(page: Any) -> None:
    assert no_horizontal_overflow(page), f"horizontal overflow at 390 px: {page.url}"


def _go(page: Any, url: str) -> Any:
    response = page.goto(url)
    _fits(page)
    return response


def _submit(page: Any, locator: Any) -> None:
    with page.expect_navigation():
        locator.click()
    _fits(page)


def _local(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def _hand_in_and_ask_for_help(page: Any, world: Any) -> None:
    """Step 1: the personal code at the sitting's address, the questionnaire, the thank-you
    page's link, "I need help now"."""
    _go(page, f"/take/?code={world.sitting2.code}")
    page.locator("input[name=personal_code]").fill(world.walker_code.lower())
    _submit(page, page.get_by_test_id("enter-start"))
    page.locator("form[data-take].is-enhanced").wait_for()
    while step(page, option=0) != "review":
        pass
    assert current(page)[1] == "review"
    _submit(page, page.get_by_test_id("take-submit"))
    page.get_by_test_id("take-done").wait_for()

    _submit(page, page.get_by_test_id("take-talk"))
    page.get_by_test_id("student-page").wait_for()
    assert world.walker.name in page.content()
    page.locator("#help-message").fill(MESSAGE)
    _submit(page, page.get_by_test_id("help-now-button"))
    page.get_by_test_id("help-sent-urgent").wait_for()
    # The hotlines at once, right under the confirmation, each a tap to call.
    helplines = page.get_by_test_id("student-helplines")
    assert helplines.is_visible()
    assert helplines.locator("a[href^='tel:']").count() >= 1
    assert page.get_by_test_id("my-request").count() == 1
    assert "已发送" in page.get_by_test_id("my-request").inner_text()


def test_counselling_done_when_walk(browser, live_server, walk):
    world = walk
    # The routing is proven: the old owner would have been the school's first psychology teacher.
    assert owner_for_school(world.school_a) == world.psych
    assert selectors.on_duty(world.school_a, timezone.now()).users[0] == world.on_duty

    contexts: list[Any] = []

    def open_page(username: str | None = None) -> Any:
        context = _context(browser, live_server)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        if username:
            sign_in(page, username, PASSWORD)
            assert "/accounts/login/" not in page.url, f"{username} could not sign in"
        return page

    try:
        # 1. The student.
        student = open_page()
        _hand_in_and_ask_for_help(student, world)
        help_request = HelpRequest.objects.get(student=world.walker)
        assert help_request.urgent
        red = deadlines_for("red", help_request.created_at).acknowledge_by
        assert help_request.created_at < help_request.respond_by <= red
        # Told: the counsellor on duty, not the school's first psychology teacher.
        told = Notification.objects.filter(kind="counselling.help.requested")
        assert set(told.values_list("recipient", flat=True)) == {world.on_duty.pk}

        # 2. The counsellor on duty: the inbox message, the help inbox, acknowledge.
        duty = open_page(world.on_duty.username)
        _go(duty, "/alerts/inbox/")
        message = duty.get_by_test_id("inbox").locator("a", has_text="紧急求助")
        assert message.count() == 1
        assert world.walker.name not in duty.get_by_test_id("inbox").inner_text()  # no child named
        _go(duty, "/counselling/help/")
        row = duty.get_by_test_id("help-row").filter(has_text=world.walker.name)
        assert row.count() == 1
        assert "紧急" in row.inner_text()
        shown = re.search(r"(\d\d)-(\d\d) (\d\d):(\d\d)", row.inner_text())
        assert shown is not None
        local_red = timezone.localtime(red)
        by = local_red.replace(
            month=int(shown[1]),
            day=int(shown[2]),
            hour=int(shown[3]),
            minute=int(shown[4]),
            second=0,
            microsecond=0,
        )
        assert timezone.localtime(help_request.created_at) - datetime.timedelta(minutes=1) < by
        assert by <= local_red  # within the red alert's acknowledge deadline
        _submit(duty, row.locator("a").first)
        assert duty.get_by_test_id("help-message").inner_text().strip() == MESSAGE
        assert "甲校值班心理老师" in duty.get_by_test_id("help-detail").inner_text()  # sent to
        _submit(duty, duty.get_by_test_id("help-ack"))
        assert duty.get_by_test_id("help-ack").count() == 0
        help_request.refresh_from_db()
        assert help_request.owner == world.on_duty
        assert help_request.acknowledged_by == world.on_duty

        # 3. Book a session from the request, then record it once it has begun.
        starts = (timezone.now() + datetime.timedelta(minutes=10)).replace(second=0, microsecond=0)
        duty.locator("#id_book-starts_at").fill(_local(starts))
        duty.locator("#id_book-minutes").fill("45")
        _submit(duty, duty.locator("form[action$='/book/'] button[type=submit]"))
        assert "/counselling/appointments/" in duty.url
        appointment = Appointment.objects.get(student=world.walker)
        assert appointment.counsellor == world.on_duty
        assert appointment.booked_as == BookedAs.STUDENT
        assert appointment.starts_at == starts
        help_request.refresh_from_db()
        assert help_request.appointment == appointment
        assert duty.get_by_test_id("record-session").count() == 0  # not yet begun

        with time_machine.travel(starts + datetime.timedelta(minutes=5), tick=True):
            _go(duty, reverse("counselling:appointment-detail", kwargs={"code": appointment.code}))
            _submit(duty, duty.get_by_test_id("record-session"))
            form = duty.get_by_test_id("session-form")
            assert form.locator("input[name=minutes]").input_value() == "45"  # as booked
            form.locator("input[name=concerns][value=emotion]").check()
            form.locator("input[name=concerns][value=peers]").check()
            form.locator("textarea[name=concern_text]").fill(CONCERN)
            form.locator("input[name=risk_found]").check()
            form.locator("select[name=risk_level]").select_option("orange")
            form.locator("input[name=interventions][value=supportive]").check()
            form.locator("textarea[name=plan]").fill("一周后复谈，告知班主任多关注（不谈内容）。")
            form.locator("textarea[name=summary]").fill(SUMMARY)
            form.locator("textarea[name=notes]").fill(NOTE)
            _submit(duty, form.locator("button[type=submit]"))
            assert "/counselling/sessions/" in duty.url
            session = Session.objects.get(student=world.walker)
            assert session.appointment == appointment
            assert session.counsellor == world.on_duty
            assert NOTE in duty.get_by_test_id("notes").inner_text()  # the author reads them
            assert duty.locator("h1").inner_text().startswith("咨询记录")
            assert "橙" in duty.get_by_test_id("risk").inner_text()
            appointment.refresh_from_db()
            assert appointment.status == AppointmentStatus.DONE
            session_url = reverse("counselling:session-detail", kwargs={"code": session.code})

            # 4. The school leader: the session is refused; no page of theirs shows the notes.
            leader = open_page(world.school_admin.username)
            response = leader.goto(session_url)
            assert response is not None
            assert response.status in (403, 404)
            assert NOTE not in leader.content()
            leader_pages = [
                "/counselling/",
                "/counselling/sessions/",
                "/counselling/help/",
                "/counselling/confidentiality/",
                "/counselling/supervision/",
                reverse("counselling:unit", kwargs={"code": world.school_a.code}),
                reverse("people:student-detail", kwargs={"code": world.walker.code}),
                "/alerts/",
                "/alerts/inbox/",
                "/",
            ]
            # The student's page tells the leader only that counselling happens.
            leader.goto(reverse("people:student-detail", kwargs={"code": world.walker.code}))
            fact = leader.get_by_test_id("counselling-fact")
            assert "共1次咨询" in fact.inner_text()
            assert SUMMARY not in leader.content()
            for url in leader_pages:
                response = leader.goto(url)
                assert response is not None
                assert response.status < 500, url
                if response.status == 200:
                    _fits(leader)
                content = leader.content()
                assert NOTE not in content, url
                assert CONCERN not in content, url
                assert MESSAGE not in content, url

            # 5. From the session: the alert, orange, source counselling, in the alerts loop.
            _go(duty, session_url)
            _submit(duty, duty.locator("form[action$='/alert/'] button[type=submit]"))
            duty.get_by_test_id("alert-raised").wait_for()
            session.refresh_from_db()
            alert = Alert.objects.get(pk=session.alert_id)
            assert alert.level == "orange"
            assert alert.source == "counselling"
            assert alert.owner == world.on_duty  # the on-duty routing, not the first teacher
            _go(duty, "/alerts/")
            assert duty.locator(f"a[href*='{alert.code}']").count() >= 1  # on the worklist
            _go(duty, reverse("alerts:alert-detail", kwargs={"code": alert.code}))
            assert "橙色" in duty.locator("h1").inner_text()
            # An orange alert is verified (the interview) within its deadline, shown on its page.
            orange = deadlines_for("orange", alert.level_since)
            assert alert.verify_by == orange.verify_by
            assert alert.verify_by is not None
            assert alert.verify_by > timezone.now()
            shown_by = timezone.localtime(orange.verify_by).strftime("%Y-%m-%d %H:%M")
            assert duty.get_by_test_id("alert-verify-by").inner_text().strip() == shown_by

            # 6. Supervision: asked by the counsellor, read by the station counsellor.
            _go(duty, "/counselling/supervision/new/")
            duty.locator("select[name=supervisor]").select_option(str(world.station_counsellor.pk))
            duty.locator(f"input[name=sessions][value='{session.code}']").check()
            duty.locator("textarea[name=question]").fill("该生风险评估为橙色，后续如何与家长沟通？")
            _submit(duty, duty.locator("form button[type=submit]").last)
            assert "/counselling/supervision/" in duty.url
            assert NOTE not in duty.get_by_test_id("supervision").inner_text()

            before = AuditEvent.objects.filter(
                action="counselling.session.notes_read", actor=world.station_counsellor
            ).count()
            supervisor = open_page(world.station_counsellor.username)
            _go(supervisor, "/alerts/inbox/")  # told in the inbox; the message opens the request
            _submit(
                supervisor,
                supervisor.get_by_test_id("inbox").locator("a", has_text="申请您的督导"),
            )
            assert "/counselling/supervision/" in supervisor.url
            assert NOTE in supervisor.get_by_test_id("notes").inner_text()
            reads = AuditEvent.objects.filter(
                action="counselling.session.notes_read", actor=world.station_counsellor
            )
            assert reads.count() == before + 1
            assert reads.latest("seq").object_id == str(session.pk)
    finally:
        for context in contexts:
            context.close()


def test_a_classmate_sees_and_acts_on_nothing_of_anothers(browser, live_server, walk):
    world = walk
    # The first student's request and appointment (prepared: not the steps under test here).
    help_request, _created = help_services.ask_for_help(
        student=world.walker, urgent=True, message=MESSAGE, request_key="walker-1"
    )
    starts = (timezone.now() + datetime.timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    appointment = services.book_appointment(
        actor=world.on_duty,
        booked_as=BookedAs.STUDENT,
        unit=world.school_a,
        student=world.walker,
        counsellor=world.on_duty,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=50),
        channel=Channel.FACE_TO_FACE,
    )
    context = _context(browser, live_server)
    try:
        page = context.new_page()
        _go(page, "/counselling/student/enter/")
        page.locator("input[name=personal_code]").fill(world.classmate_code)
        _submit(page, page.locator("[data-testid=student-enter] button[type=submit]"))
        page.get_by_test_id("student-page").wait_for()
        content = page.content()
        assert world.classmate.name in content
        assert world.walker.name not in content
        assert MESSAGE not in content
        assert page.get_by_test_id("my-appointment").count() == 0
        assert page.get_by_test_id("my-request").count() == 0

        # Acting on the first student's appointment by its address: 404, nothing changed.
        token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        cancel = reverse("counselling:student-cancel", kwargs={"code": appointment.code})
        response = page.request.post(
            cancel, headers={"X-CSRFToken": token, "Referer": live_server.url + "/"}
        )
        assert response.status == 404
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CONFIRMED

        # A request sent from the classmate's page is the classmate's, whatever the form says.
        page.locator("#help-message").fill("同学的求助")
        page.evaluate(
            'code => { const f = document.querySelector("[data-testid=help-now] form");'
            " for (const n of ['student', 'student_code', 'personal_code']) {"
            " const i = document.createElement('input'); i.type = 'hidden'; i.name = n;"
            " i.value = code; f.appendChild(i); } }",
            world.walker_code,
        )
        _submit(page, page.get_by_test_id("help-now-button"))
        page.get_by_test_id("help-sent-urgent").wait_for()
        assert HelpRequest.objects.filter(student=world.classmate).count() == 1
        assert HelpRequest.objects.filter(student=world.walker).count() == 1
        assert help_request.pk == HelpRequest.objects.get(student=world.walker).pk
    finally:
        context.close()
