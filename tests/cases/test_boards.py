"""The boards (issue 5): the psychology teacher's worklist, the head teacher's class, my tasks, the
leader's overdue board and the student archive. Data is built with the models directly (helpers
below, also used by test_boards_red.py)."""

from __future__ import annotations

import datetime
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.access.services import create_staff
from xinqiao.alerts.models import Alert, Escalation
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import (
    Case,
    CaseDocument,
    CaseTeamMember,
    CaseTransfer,
    GuardianContact,
    LevelChange,
    Referral,
    StepDownRequest,
)
from xinqiao.cases.selectors.boards import archive_section, case_link
from xinqiao.people.models import Student

# A Wednesday in the world's autumn term, 10:00 Beijing time: "due today" means before midnight.
NOW = datetime.datetime(2026, 10, 14, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

_seq = itertools.count(1)


def student(cls: Any, name: str | None = None) -> Student:
    n = next(_seq)
    return Student.objects.create(
        student_number=f"T{n:08d}",
        name=name or f"学生{n:03d}",
        gender="F" if n % 2 else "M",
        birth_date=datetime.date(2013, 1, 1),
        school=cls.parent.parent,
        school_class=cls,
    )


def case(
    stu: Student,
    *,
    level: str = "orange",
    owner: Any = None,
    status: str = "open",
    opened_at: datetime.datetime | None = None,
    level_since: datetime.datetime | None = None,
    due: datetime.datetime | None = None,
    alert: Alert | None = None,
) -> Case:
    now = timezone.now()
    opened_at = opened_at or now
    c = Case.objects.create(
        student=stu,
        school=stu.school,
        level=level,
        level_since=level_since or opened_at,
        status=status,
        owner=owner,
        opened_at=opened_at,
        opened_by=owner,
        next_follow_up_due=due if status == "open" else None,
        closed_at=now if status == "closed" else None,
    )
    LevelChange.objects.create(
        case=c, kind="opened", to_level=level, changed_by=owner, at=opened_at, alert=alert
    )
    return c


def alert(stu: Student, *, level: str = "red", status: str = "new", **kw: Any) -> Alert:
    now = kw.pop("now", None) or timezone.now()
    return Alert.objects.create(
        student=stu,
        school=stu.school,
        level=level,
        source="head_teacher",
        status=status,
        level_since=now,
        acknowledge_by=now + datetime.timedelta(hours=1) if level == "red" else None,
        verify_by=now + datetime.timedelta(days=1),
        created_at=now,
        **kw,
    )


def referral(
    c: Case, *, by: Any, hospital: Any, status: str = "sent", days_ago: int = 0
) -> Referral:
    return Referral.objects.create(
        case=c,
        student=c.student,
        hospital=hospital,
        reason="需专科评估",
        consent_basis="guardian_consent",
        status=status,
        sent_by=by,
        sent_at=timezone.now() - datetime.timedelta(days=days_ago),
        client_key=f"ref-{next(_seq)}",
    )


def team(c: Case, user: Any, *, tier: int, task: str, by: Any, removed: bool = False) -> Any:
    return CaseTeamMember.objects.create(
        case=c,
        user=user,
        tier=tier,
        role="x",
        task=task,
        added_by=by,
        added_at=timezone.now(),
        removed_at=timezone.now() if removed else None,
    )


def step_down(c: Case, *, by: Any) -> StepDownRequest:
    return StepDownRequest.objects.create(
        case=c,
        from_level=c.level,
        to_level="yellow" if c.level == "orange" else "",
        reason="好转",
        requested_by=by,
        requested_at=timezone.now(),
    )


def guardian_ack(c: Case, *, by: Any, level: str = "red", signed: bool = True) -> GuardianContact:
    doc = None
    if signed:
        n = next(_seq)
        doc = CaseDocument.objects.create(
            case=c,
            kind="guardian_ack",
            original_name="ack.pdf",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            storage_name=f"test-{n}",
            uploaded_by=by,
            uploaded_at=timezone.now(),
        )
    return GuardianContact.objects.create(
        case=c,
        method="phone",
        contacted_at=timezone.now(),
        what_was_said="已告知",
        informed_of_level=level,
        acknowledgement=doc,
        recorded_by=by,
        client_key=f"gc-{next(_seq)}",
        created_at=timezone.now(),
    )


def escalation(a: Alert, step: str, *, at: datetime.datetime | None = None) -> Escalation:
    at = at or timezone.now()
    return Escalation.objects.create(
        alert=a, school=a.school, step=step, due_at=at, escalated_at=at, recipients=[]
    )


PASSWORD = "Xq-test-Passw0rd!"


@pytest.fixture(autouse=True)
def _clock():
    """Every test of the boards runs (world included) at NOW, with the clock ticking."""
    with time_machine.travel(NOW, tick=True):
        yield


def html_of(response) -> str:
    return response.content.decode()


def section(html: str, key: str) -> str:
    """The HTML of one section of a board (from its marker to the end of that section)."""
    start = html.index(f'data-testid="section-{key}"')
    return html[start : html.index("</section>", start)]


def get(client, name: str, **params):
    return client.get(reverse(name), params)


def school_admin_b(world):
    return create_staff(
        actor=None,
        username="school_admin_b",
        name="乙校德育主任",
        org_unit=world.school_b,
        password=PASSWORD,
        roles=[(Role.SCHOOL_ADMIN, world.school_b)],
    ).user


def assert_linked(html: str, c: Case) -> None:
    """Rows link to the case page once the case page exists (the lifecycle area adds it)."""
    link = case_link(c.code)
    if link is not None:
        assert link in html


# --- the psychology teacher's worklist --------------------------------------------------------


@pytest.fixture
def worklist_world(world):
    """One row (or more) for each section of school A, and the same again at school B."""
    w = world
    now = timezone.now()
    w.red_new = alert(student(w.class_a1, "红预警生"), level="red")
    w.overdue = case(
        student(w.class_a1, "逾期生"),
        level="red",
        owner=w.psych,
        due=now - datetime.timedelta(days=2),
    )
    w.today = case(
        student(w.class_a2, "今日生"),
        level="yellow",
        owner=w.psych,
        due=now + datetime.timedelta(hours=3),
    )
    w.tomorrow = case(
        student(w.class_a2, "明日生"),
        level="yellow",
        owner=w.psych,
        due=now + datetime.timedelta(days=1, hours=1),
    )
    guardian_ack(w.overdue, by=w.psych, signed=False)  # told, but nothing signed yet
    w.acked = case(
        student(w.class_a1, "已签收生"),
        level="red",
        owner=w.psych,
        due=now + datetime.timedelta(days=1),
    )
    guardian_ack(w.acked, by=w.psych)
    w.done_referral = referral(w.acked, by=w.psych, hospital=w.hospital, status="feedback")
    w.old_referral = referral(w.overdue, by=w.psych, hospital=w.hospital, status="seen", days_ago=9)
    w.step = step_down(w.case_a2, by=w.psych)
    w.transfer = CaseTransfer.objects.create(
        case=w.today,
        from_school=w.school_a,
        to_school=w.school_b,
        station=w.station_a,
        handover_note="交接",
        requested_by=w.psych,
        requested_at=now,
    )
    # School B: every kind of row, none of which school A may see.
    b1 = case(w.stu_b1, level="red", owner=w.psych_b, due=now - datetime.timedelta(days=1))
    referral(b1, by=w.psych_b, hospital=w.hospital)
    step_down(b1, by=w.psych_b)
    alert(student(w.class_b1, "乙校预警生"), level="orange")
    return w


def test_worklist_shows_every_section_of_own_school(worklist_world, client_for):
    w = worklist_world
    response = get(client_for(w.psych), "cases:worklist")

    assert response.status_code == 200
    html = html_of(response)
    alerts = section(html, "alerts")
    assert alerts.index("红预警生") < alerts.index("王小明")  # acknowledge-by 1 h comes first
    overdue = section(html, "overdue")
    assert "逾期生" in overdue
    assert "2 d overdue" in overdue
    assert "今日生" not in overdue
    today = section(html, "today")
    assert "今日生" in today
    assert "明日生" not in today
    assert "逾期生" not in today
    referrals = section(html, "referrals")
    assert referrals.index("逾期生") < referrals.index("李小红")  # oldest first
    assert "已签收生" not in referrals  # feedback given
    acks = section(html, "acks")
    assert "逾期生" in acks  # informed of red, nothing signed
    assert "已签收生" not in acks
    assert "李小红" not in acks  # orange
    assert "李小红" in section(html, "stepdowns")
    transfers = section(html, "transfers")
    assert "今日生" in transfers
    assert "Outgoing" in transfers
    for c in (w.overdue, w.today, w.case_a2):
        assert_linked(html, c)
    # Nothing of school B.
    for name in ("赵小刚", "乙校预警生"):
        assert name not in html


def test_worklist_shows_an_incoming_transfer_once_the_station_forwarded_it(
    worklist_world, client_for
):
    w = worklist_world
    client = client_for(w.psych_b)
    assert "今日生" not in section(html_of(get(client, "cases:worklist")), "transfers")

    CaseTransfer.objects.filter(pk=w.transfer.pk).update(status="forwarded")
    transfers = section(html_of(get(client, "cases:worklist")), "transfers")

    assert "今日生" in transfers
    assert "Incoming" in transfers
    assert_not_linked = case_link(w.today.code)
    if assert_not_linked:
        assert assert_not_linked not in transfers  # not their case until they accept it


def test_worklist_of_another_school_shows_nothing_of_school_a(worklist_world, client_for):
    html = html_of(get(client_for(worklist_world.psych_b), "cases:worklist"))

    for name in ("王小明", "李小红", "红预警生", "逾期生", "今日生", "已签收生"):
        assert name not in html
    assert "赵小刚" in section(html, "overdue")


@pytest.mark.parametrize(
    "role",
    [
        Role.CITY_ADMIN,
        Role.DISTRICT_ADMIN,
        Role.STATION_COUNSELLOR,
        Role.SCHOOL_ADMIN,
        Role.HEAD_TEACHER,
        Role.MENTOR,
        Role.COMMITTEE_MEMBER,
        Role.PARENT,
        Role.PSYCHIATRIST,
        Role.AUDITOR,
    ],
)
def test_worklist_refuses_other_roles(world, client_for, role):
    assert get(client_for(world.by_role[role]), "cases:worklist").status_code == 403


def test_worklist_needs_sign_in(world, client):
    assert get(client, "cases:worklist").status_code == 302


def _more_worklist_rows(w, n: int) -> None:
    now = timezone.now()
    for _ in range(n):
        a = case(
            student(w.class_a1), level="red", owner=w.psych, due=now - datetime.timedelta(hours=5)
        )
        referral(a, by=w.psych, hospital=w.hospital)
        step_down(a, by=w.psych)
        case(
            student(w.class_a2),
            level="yellow",
            owner=w.psych,
            due=now + datetime.timedelta(hours=2),
        )
        alert(student(w.class_a1), level="orange")
        CaseTransfer.objects.create(
            case=a,
            from_school=w.school_a,
            to_school=w.school_b,
            station=w.station_a,
            handover_note="交接",
            requested_by=w.psych,
            requested_at=now,
        )


def test_worklist_query_count_does_not_grow_with_rows(
    worklist_world, client_for, django_assert_max_num_queries
):
    client = client_for(worklist_world.psych)
    get(client, "cases:worklist")
    with CaptureQueriesContext(connection) as few:
        get(client, "cases:worklist")
    _more_worklist_rows(worklist_world, 6)

    with CaptureQueriesContext(connection) as many, django_assert_max_num_queries(30):
        response = get(client, "cases:worklist")

    assert section(html_of(response), "stepdowns").count('data-row="step-down"') == 7
    assert len(many.captured_queries) == len(few.captured_queries)


def test_worklist_paginates_each_section(worklist_world, client_for):
    _more_worklist_rows(worklist_world, 21)
    client = client_for(worklist_world.psych)

    first = section(html_of(get(client, "cases:worklist")), "stepdowns")
    second = section(html_of(get(client, "cases:worklist", stepdowns=2)), "stepdowns")

    assert first.count('data-row="step-down"') == 20
    assert second.count('data-row="step-down"') == 2
    assert "Page 2 of 2" in second


def test_worklist_is_the_psychology_teachers_tile(world, client_for):
    html = html_of(client_for(world.psych).get(reverse("home")))

    assert 'data-tile="cases:worklist"' in html
    assert "My worklist" in html
    assert 'data-tile="cases:worklist"' not in html_of(client_for(world.head_teacher).get("/"))


# --- the head teacher's class -----------------------------------------------------------------

LEVEL_TRACES = (
    "Red",
    "Orange",
    "Yellow",
    "data-level",
    "text-bg-danger",
    "text-bg-warning",
    "text-bg-info",
    "score",
    "Score",
)


@pytest.fixture
def class_world(world):
    w = world
    w.in_case = student(w.class_a1, "在案生")
    w.in_case_case = case(w.in_case, level="red", owner=w.psych)
    w.was_case = student(w.class_a1, "已结案生")
    case(w.was_case, level="yellow", owner=w.psych, status="closed")
    w.fine = student(w.class_a1, "无事生")
    team(w.in_case_case, w.head_teacher, tier=2, task="每天课间留意情绪并及时反馈", by=w.psych)
    team(w.case_a2, w.head_teacher, tier=2, task="别班的任务", by=w.psych)  # not their class
    gone = case(student(w.class_a1, "旧任务生"), level="orange", owner=w.psych)
    team(gone, w.head_teacher, tier=2, task="已移除的任务", by=w.psych, removed=True)
    team(w.in_case_case, w.mentor, tier=2, task="科任老师的任务", by=w.psych)
    return w


def test_my_class_lists_students_needing_attention_without_levels(class_world, client_for):
    w = class_world
    response = get(client_for(w.head_teacher), "cases:my-class")

    assert response.status_code == 200
    html = html_of(response)
    attention = html[html.index('data-testid="class-attention"') :]
    attention = attention[: attention.index("</section>")]
    assert attention.count('data-row="student"') == 3
    assert "王小明" in attention  # open alert
    assert "在案生" in attention  # open case
    assert "旧任务生" in attention  # open case (their task on it was removed)
    for name in ("已结案生", "无事生", "李小红"):
        assert name not in attention
    tasks = html[html.index('data-testid="my-tasks"') :]
    assert "每天课间留意情绪并及时反馈" in tasks
    for other in ("别班的任务", "已移除的任务", "科任老师的任务"):
        assert other not in html
    for trace in LEVEL_TRACES:
        assert trace not in html, trace


def test_my_class_of_another_school_shows_nothing_of_school_a(class_world, client_for):
    html = html_of(get(client_for(class_world.head_teacher_b), "cases:my-class"))

    for name in ("王小明", "在案生", "李小红"):
        assert name not in html


@pytest.mark.parametrize(
    "role",
    [
        Role.CITY_ADMIN,
        Role.STATION_COUNSELLOR,
        Role.SCHOOL_ADMIN,
        Role.PSYCHOLOGY_TEACHER,
        Role.MENTOR,
        Role.COMMITTEE_MEMBER,
        Role.PARENT,
        Role.PSYCHIATRIST,
    ],
)
def test_my_class_refuses_other_roles(world, client_for, role):
    assert get(client_for(world.by_role[role]), "cases:my-class").status_code == 403


def test_my_class_psych_b_is_refused(world, client_for):
    assert get(client_for(world.psych_b), "cases:my-class").status_code == 403


def test_my_class_query_count_does_not_grow_with_rows(class_world, client_for):
    w = class_world
    client = client_for(w.head_teacher)
    get(client, "cases:my-class")
    with CaptureQueriesContext(connection) as few:
        get(client, "cases:my-class")
    for _ in range(5):
        c = case(student(w.class_a1), level="orange", owner=w.psych)
        team(c, w.head_teacher, tier=2, task="留意", by=w.psych)
        alert(student(w.class_a1), level="yellow")

    with CaptureQueriesContext(connection) as many:
        response = get(client, "cases:my-class")

    assert html_of(response).count('data-row="student"') == 13
    assert len(many.captured_queries) == len(few.captured_queries)


# --- my tasks ---------------------------------------------------------------------------------


def test_my_tasks_mentor_sees_own_tasks(class_world, client_for):
    response = get(client_for(class_world.mentor), "cases:my-tasks")

    assert response.status_code == 200
    html = html_of(response)
    assert "科任老师的任务" in html
    assert "在案生" in html
    assert "每天课间留意情绪并及时反馈" not in html  # the head teacher's
    for trace in LEVEL_TRACES:
        assert trace not in html, trace


def test_my_tasks_committee_member_sees_no_classmate_and_no_count(class_world, client_for):
    w = class_world
    team(w.in_case_case, w.committee, tier=3, task="内部措辞不应给学生看到", by=w.psych)
    other = case(student(w.class_a1, "别人的任务生"), level="orange", owner=w.psych)
    other_member = student(w.class_a1, "另一委员")
    from django.contrib.auth import get_user_model

    other_user = get_user_model().objects.create_user("committee_x", password=PASSWORD)
    team(other, other_user, tier=3, task="x", by=w.psych)

    response = get(client_for(w.committee), "cases:my-tasks")

    html = html_of(response)
    assert response.status_code == 200
    assert "在案生" not in html  # a child never learns who has a case (issue 13)
    assert 'data-testid="peer-guidance"' in html
    assert 'data-row="task"' not in html
    home = html_of(get(client_for(w.committee), "home"))
    assert "在案生" not in home
    assert 'data-count="cases.my_tasks.tasks"' not in home
    assert "内部措辞不应给学生看到" not in html
    assert "别人的任务生" not in html
    assert reverse("alerts:concern-create") in html
    assert other_member.name not in html
    for trace in LEVEL_TRACES:
        assert trace not in html, trace


def test_my_tasks_head_teacher_of_another_school_sees_nothing_of_school_a(class_world, client_for):
    w = class_world
    team(w.in_case_case, w.head_teacher_b, tier=2, task="乙校老师不该看到", by=w.psych)

    html = html_of(get(client_for(w.head_teacher_b), "cases:my-tasks"))

    assert "在案生" not in html
    assert "乙校老师不该看到" not in html


@pytest.mark.parametrize(
    "role",
    [
        Role.CITY_ADMIN,
        Role.STATION_COUNSELLOR,
        Role.SCHOOL_ADMIN,
        Role.PSYCHOLOGY_TEACHER,
        Role.PARENT,
        Role.PSYCHIATRIST,
        Role.AUDITOR,
    ],
)
def test_my_tasks_refuses_other_roles(world, client_for, role):
    assert get(client_for(world.by_role[role]), "cases:my-tasks").status_code == 403


def test_my_tasks_query_count_does_not_grow_with_rows(class_world, client_for):
    w = class_world
    client = client_for(w.mentor)
    get(client, "cases:my-tasks")
    with CaptureQueriesContext(connection) as few:
        get(client, "cases:my-tasks")
    for _ in range(6):
        team(case(student(w.class_a1), owner=w.psych), w.mentor, tier=2, task="留意", by=w.psych)

    with CaptureQueriesContext(connection) as many:
        response = get(client, "cases:my-tasks")

    assert html_of(response).count('data-row="task"') == 7
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the leader's overdue board ---------------------------------------------------------------


@pytest.fixture
def leader_world(world):
    w = world
    now = timezone.now()
    w.late_case = case(
        student(w.class_a1, "逾期生"),
        level="red",
        owner=w.psych,
        due=now - datetime.timedelta(days=3),
    )
    case(
        student(w.class_a2, "黄色生"),
        level="yellow",
        owner=w.psych,
        due=now + datetime.timedelta(days=3),
    )
    w.late_alert = alert(
        student(w.class_a1, "超时预警生"), level="orange", now=now - datetime.timedelta(days=5)
    )
    w.fresh_alert = alert(student(w.class_a1, "新预警生"), level="orange")
    escalation(w.late_alert, "orange_leader")
    w.step = step_down(w.case_a2, by=w.psych)
    # School B: the same kinds of rows.
    case(w.stu_b1, level="red", owner=w.psych_b, due=now - datetime.timedelta(days=3))
    b_alert = alert(
        student(w.class_b1, "乙校超时生"), level="orange", now=now - datetime.timedelta(days=5)
    )
    escalation(b_alert, "orange_leader")
    return w


def test_overdue_board_lists_the_schools_overdue_work(leader_world, client_for):
    w = leader_world
    response = get(client_for(w.school_admin), "cases:overdue-board")

    assert response.status_code == 200
    html = html_of(response)
    counts = response.context["counts"]
    assert counts == {"red": 1, "orange": 1, "yellow": 1}
    assert "逾期生" in section(html, "overdue")
    assert "黄色生" not in section(html, "overdue")
    alerts = section(html, "alerts")
    assert "超时预警生" in alerts
    assert "新预警生" not in alerts
    assert "超时预警生" in section(html, "escalations")
    assert "李小红" in section(html, "stepdowns")
    assert_linked(html, w.case_a2)
    assert "好转" not in html  # the step-down reason is a note
    for name in ("赵小刚", "乙校超时生"):
        assert name not in html


def test_overdue_board_of_another_school_shows_nothing_of_school_a(leader_world, client_for):
    html = html_of(get(client_for(school_admin_b(leader_world)), "cases:overdue-board"))

    for name in ("逾期生", "超时预警生", "李小红", "黄色生"):
        assert name not in html
    assert "赵小刚" in section(html, "overdue")


@pytest.mark.parametrize(
    "role",
    [
        Role.CITY_ADMIN,
        Role.DISTRICT_ADMIN,
        Role.STATION_COUNSELLOR,
        Role.PSYCHOLOGY_TEACHER,
        Role.HEAD_TEACHER,
        Role.MENTOR,
        Role.COMMITTEE_MEMBER,
        Role.PARENT,
    ],
)
def test_overdue_board_refuses_other_roles(world, client_for, role):
    assert get(client_for(world.by_role[role]), "cases:overdue-board").status_code == 403


def test_overdue_board_psych_b_is_refused(world, client_for):
    assert get(client_for(world.psych_b), "cases:overdue-board").status_code == 403


def test_overdue_board_query_count_does_not_grow_with_rows(leader_world, client_for):
    w = leader_world
    client = client_for(w.school_admin)
    get(client, "cases:overdue-board")
    with CaptureQueriesContext(connection) as few:
        get(client, "cases:overdue-board")
    now = timezone.now()
    for _ in range(5):
        c = case(
            student(w.class_a1), level="orange", owner=w.psych, due=now - datetime.timedelta(days=1)
        )
        step_down(c, by=w.psych)
        a = alert(student(w.class_a2), level="orange", now=now - datetime.timedelta(days=6))
        escalation(a, "orange_leader")

    with CaptureQueriesContext(connection) as many:
        html = html_of(get(client, "cases:overdue-board"))

    assert section(html, "escalations").count('data-row="escalation"') == 6
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the student's archive --------------------------------------------------------------------


@pytest.fixture
def archive_world(world):
    w = world
    old = timezone.now() - datetime.timedelta(days=400)
    first = case(w.stu_a2, level="yellow", owner=w.psych, status="closed", opened_at=old)
    first.closed_at = old + datetime.timedelta(days=70)
    first.save(update_fields=["closed_at"])
    LevelChange.objects.create(
        case=first,
        kind="closed",
        from_level="yellow",
        to_level="",
        changed_by=w.psych,
        at=first.closed_at,
        reason="加密的结案理由",
    )
    w.first_case = first
    w.old_alert = alert(w.stu_a2, level="yellow", status="verified", outcome="confirmed", now=old)
    LevelChange.objects.filter(case=first, kind="opened").update(alert=w.old_alert)
    w.dismissed = alert(
        w.stu_a2,
        level="orange",
        status="verified",
        outcome="dismissed",
        now=old + datetime.timedelta(days=200),
    )
    return w


def test_archive_section_shows_all_cases_and_alerts_across_years(archive_world, client_for):
    w = archive_world
    response = client_for(w.psych).get(
        reverse("people:student-detail", kwargs={"code": w.stu_a2.code})
    )

    html = html_of(response)
    archive = html[html.index('data-testid="cases-archive"') :]
    assert archive.count('data-row="archived-case"') == 2
    assert "Case closed" in archive
    assert "Case opened" in archive
    assert "Dismissed" in archive
    assert "Confirmed" in archive
    assert "加密的结案理由" not in html  # reasons stay on the case page
    assert_linked(archive, w.case_a2)
    event = AuditEvent.objects.filter(action="people.student.viewed").order_by("-seq").first()
    assert "cases.level_history" in event.fields["read"]
    # each alert once: the archive lists them with their case, the alerts section stands aside
    assert 'data-testid="alerts-archive"' not in html
    alerts = Alert.objects.filter(student=w.stu_a2).count()
    assert alerts >= 2
    assert html.count('data-row="archived-alert"') == alerts


def test_archive_section_for_the_leader_but_not_the_head_teacher(archive_world):
    w = archive_world

    assert archive_section(principal_for(w.school_admin), w.stu_a2) is not None
    assert archive_section(principal_for(w.head_teacher), w.stu_a1) is None
    assert archive_section(principal_for(w.mentor), w.stu_a1) is None
    assert archive_section(principal_for(w.parent), w.stu_a1) is None
    assert archive_section(principal_for(w.city_admin), w.stu_a2) is None


def test_archive_section_of_another_school_is_none(archive_world):
    assert archive_section(principal_for(archive_world.psych_b), archive_world.stu_a2) is None


def test_archive_section_station_sees_only_its_cases(archive_world):
    w = archive_world
    section_ = archive_section(principal_for(w.station_counsellor), w.stu_a2)

    assert section_ is not None
    assert section_.context["archived_cases"] == []  # orange and yellow, never escalated


def test_archive_section_query_count_does_not_grow_with_history(archive_world):
    w = archive_world
    principal = principal_for(w.psych)
    archive_section(principal, w.stu_a2)
    with CaptureQueriesContext(connection) as few:
        archive_section(principal, w.stu_a2)
    for i in range(5):
        LevelChange.objects.create(
            case=w.case_a2,
            kind="raised",
            from_level="orange",
            to_level="red",
            changed_by=w.psych,
            at=timezone.now() + datetime.timedelta(minutes=i),
        )
        alert(w.stu_a2, level="orange", status="verified", outcome="dismissed")

    with CaptureQueriesContext(connection) as many:
        archive_section(principal, w.stu_a2)

    assert len(many.captured_queries) == len(few.captured_queries)


def test_worklist_is_an_audited_read_of_the_students_it_lists(worklist_world, client_for):
    w = worklist_world
    assert get(client_for(w.psych), "cases:worklist").status_code == 200
    event = AuditEvent.objects.filter(action="cases.worklist.viewed").get()
    assert event.actor_id == w.psych.pk
    assert event.fields["read"] == ["name", "level"]
    assert w.red_new.student_id in event.fields["students"]
    assert w.overdue.student_id in event.fields["students"]
    assert w.stu_b1.pk not in event.fields["students"]  # school B's rows are not shown
    assert event.fields["count"] == len(event.fields["students"])
