"""A worker killed during notification fan-out loses nothing and shows nothing twice (issue 5,
"Done when").

The outbox dispatcher runs in a real separate process (`manage.py shell -c` calling
`notifications.services.dispatch_outbox`) against the test database: on PostgreSQL the test database
itself, on SQLite a file copy of it (the in-memory test database cannot be shared with another
process) that is copied back for the final checks. The process is killed with SIGKILL in the middle
of a delivery — deterministically, while it sends an email inside the delivery transaction, and at
random moments — then the dispatcher runs again. Every outbox row must end dispatched with exactly
one InboxMessage, and every recipient gets their email at least once.

The mail server is `RecordingEmailBackend` below, chosen with the ordinary EMAIL_BACKEND setting
(no test hook in production code): it logs every message to a file, can be slowed down, and can
stall for ever on the n-th message so the test knows where the process is when it kills it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction

from tests.conftest import _user
from xinqiao.access.roles import Role
from xinqiao.notifications.models import InboxMessage, Notification

ROOT = Path(__file__).resolve().parents[2]
DISPATCH_ONCE = "from xinqiao.notifications.services import dispatch_outbox; dispatch_outbox()"
# Deliver until nothing is pending (a row a killed process still had locked is skipped until the
# server has noticed the kill and rolled its transaction back).
DISPATCH_ALL = """
import time
from xinqiao.notifications.models import Notification
from xinqiao.notifications.services import dispatch_outbox
give_up = time.monotonic() + 30
pending = Notification.objects.filter(dispatched_at__isnull=True)
while pending.exists() and time.monotonic() < give_up:
    dispatch_outbox()
    time.sleep(0.05)
"""


class RecordingEmailBackend(BaseEmailBackend):
    """The dispatcher subprocess's mail server (EMAIL_BACKEND names this class).

    XQ_MAIL_LOG: file that gets one line (the recipient) per message sent;
    XQ_MAIL_DELAY: up to this many seconds per message (random);
    XQ_STALL_AFTER / XQ_STALL_FILE: on the message after that many, touch the file and hang."""

    sent = 0  # per process (Django makes a backend per send_mail)

    def send_messages(self, email_messages: Any) -> int:
        for message in email_messages:
            stall_after = int(os.environ.get("XQ_STALL_AFTER", "-1"))
            if 0 <= stall_after <= RecordingEmailBackend.sent:
                Path(os.environ["XQ_STALL_FILE"]).write_text("stalled")
                time.sleep(600)  # killed here, inside the delivery transaction
            delay = float(os.environ.get("XQ_MAIL_DELAY", "0"))
            if delay:
                time.sleep(random.uniform(0, delay))
            with open(os.environ["XQ_MAIL_LOG"], "a", encoding="utf-8") as log:
                log.write(",".join(message.to) + "\n")
            RecordingEmailBackend.sent += 1
        return len(email_messages)


class RefusingEmailBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages: Any) -> int:
        raise OSError("mail server down")


class ExternalDispatcher:
    """Runs the outbox dispatcher in separate processes against the test's data."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.mail_log = tmp_path / "mail.log"
        self.mail_log.touch()
        self.sqlite_file: Path | None = None
        settings_dict = connection.settings_dict
        if connection.vendor == "sqlite":
            self.sqlite_file = tmp_path / "xinqiao.sqlite3"
            url = f"sqlite:///{self.sqlite_file}"
        else:
            auth = quote(settings_dict["USER"] or "")
            if settings_dict["PASSWORD"]:
                auth += ":" + quote(settings_dict["PASSWORD"])
            host = settings_dict["HOST"] or "127.0.0.1"
            port = settings_dict["PORT"] or 5432
            url = f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": url,
            "EMAIL_BACKEND": f"{__name__}.RecordingEmailBackend",
            "XQ_MAIL_LOG": str(self.mail_log),
        }

    # SQLite: the in-memory test database ⇄ a file the other processes can open.
    def export(self) -> None:
        if self.sqlite_file is not None:
            connection.ensure_connection()
            target = sqlite3.connect(self.sqlite_file)
            connection.connection.backup(target)
            target.close()

    def import_back(self) -> None:
        if self.sqlite_file is not None:
            source = sqlite3.connect(self.sqlite_file)
            source.backup(connection.connection)
            source.close()

    def start(self, script: str = DISPATCH_ONCE, **env: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env={**self.env, **{k: str(v) for k, v in env.items()}},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def run(self, script: str = DISPATCH_ALL, **env: Any) -> None:
        proc = self.start(script, **env)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()

    def emails(self) -> Counter[str]:
        return Counter(self.mail_log.read_text(encoding="utf-8").split())

    def state(self, notification_ids: list[int]) -> dict[str, int]:
        """Counts over the given outbox rows, read from the database the processes use."""
        marks = ",".join(str(int(i)) for i in notification_ids)  # integers only: safe to inline
        rows, messages = "notifications_notification", "notifications_inboxmessage"
        sql = {
            "dispatched": f"SELECT COUNT(*) FROM {rows} WHERE id IN ({marks}) "  # noqa: S608
            "AND dispatched_at IS NOT NULL",
            "inbox": f"SELECT COUNT(*) FROM {messages} WHERE notification_id IN ({marks})",  # noqa: S608
            # a row marked done without its message (an inbox message whose row is not done yet
            # is fine: the batch moves every message first, then sends the emails one by one)
            "torn": f"SELECT COUNT(*) FROM {rows} o LEFT JOIN {messages} m "  # noqa: S608
            f"ON m.notification_id = o.id WHERE o.id IN ({marks}) "
            "AND m.id IS NULL AND o.dispatched_at IS NOT NULL",
        }
        if self.sqlite_file is not None:
            db = sqlite3.connect(self.sqlite_file)
            try:
                return {k: db.execute(q).fetchone()[0] for k, q in sql.items()}
            finally:
                db.close()
        with connection.cursor() as cursor:
            result = {}
            for key, query in sql.items():
                cursor.execute(query)
                result[key] = cursor.fetchone()[0]
            return result


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    give_up = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"dispatcher ended early: {proc.stderr.read().decode()}")
        assert time.monotonic() < give_up, "the dispatcher never reached the stall point"
        time.sleep(0.05)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def fanout(world, monkeypatch):
    """A red alert fanned out to 20 psychology teachers, all with an email address; nothing
    delivered yet (the in-process dispatcher kick after commit is switched off)."""
    from xinqiao.alerts import services
    from xinqiao.notifications import services as notifications

    monkeypatch.setattr(notifications, "kick_dispatcher", lambda: None)
    services.verify_alert(world.alert_a1, actor=world.psych, outcome="dismissed", reason="测试")
    teachers = [world.psych] + [
        _user(f"psych_a_{n:02d}", f"心理老师{n}", world.school_a, Role.PSYCHOLOGY_TEACHER)
        for n in range(19)
    ]
    for user in teachers:
        user.email = f"{user.username}@school-a.example"
        user.save(update_fields=["email"])
    first_id = (Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    services.file_concern(
        actor=world.head_teacher,
        student=world.stu_a1,
        what_seen="说有具体计划",
        seen_on=world.term.start_date,
        urgency="plan",
    )
    rows = list(Notification.objects.filter(id__gte=first_id).order_by("id"))
    assert len(rows) == 20
    assert {r.recipient_id for r in rows} == {u.pk for u in teachers}
    assert all(r.dispatched_at is None for r in rows)
    return rows, teachers


def _assert_delivered_once(rows: list[Notification]) -> None:
    ids = [r.pk for r in rows]
    assert not Notification.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()
    inbox = InboxMessage.objects.filter(notification_id__in=ids)
    per_row = Counter(inbox.values_list("notification_id", flat=True))
    assert per_row == Counter(ids)  # exactly one message per outbox row
    per_recipient = Counter(
        InboxMessage.objects.filter(notification__alert=rows[0].ref).values_list(
            "recipient_id", flat=True
        )
    )
    assert per_recipient == Counter(r.recipient_id for r in rows)
    for message in InboxMessage.objects.filter(notification_id__in=ids).select_related(
        "notification"
    ):
        assert message.recipient_id == message.notification.recipient_id
        assert message.subject == message.notification.subject


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_during_fanout_the_alert_reaches_every_inbox_once(fanout, tmp_path):
    rows, teachers = fanout
    ids = [r.pk for r in rows]
    dispatcher = ExternalDispatcher(tmp_path)
    dispatcher.export()

    # The worker moves all 20 messages to the inboxes in one transaction, emails 7 recipients,
    # then hangs sending the 8th email — inside that row's delivery transaction — and is killed.
    stall = tmp_path / "stalled"
    proc = dispatcher.start(XQ_STALL_AFTER=7, XQ_STALL_FILE=stall)
    _wait_for(stall, proc)
    _kill(proc)
    assert dispatcher.state(ids) == {"dispatched": 7, "inbox": 20, "torn": 0}
    assert sum(dispatcher.emails().values()) == 7

    # The dispatcher runs again: the rest, the interrupted row included, exactly once.
    dispatcher.run()
    assert dispatcher.state(ids) == {"dispatched": 20, "inbox": 20, "torn": 0}
    assert dispatcher.emails() == Counter(u.email for u in teachers)  # each exactly once here
    dispatcher.run(DISPATCH_ONCE)  # and again: nothing more
    assert sum(dispatcher.emails().values()) == 20

    dispatcher.import_back()
    _assert_delivered_once(rows)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_at_random_moments_nothing_is_lost_or_shown_twice(fanout, tmp_path):
    rows, teachers = fanout
    ids = [r.pk for r in rows]
    dispatcher = ExternalDispatcher(tmp_path)
    dispatcher.export()
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    kills = 0
    for _ in range(3):
        before = sum(dispatcher.emails().values())
        proc = dispatcher.start(XQ_MAIL_DELAY=0.04)
        give_up = time.monotonic() + 90
        # Wait until it is delivering (an email more), then kill it a random moment later.
        while sum(dispatcher.emails().values()) == before and proc.poll() is None:
            assert time.monotonic() < give_up, "the dispatcher never started delivering"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.15))
        if proc.poll() is None:
            _kill(proc)
            kills += 1
        state = dispatcher.state(ids)
        assert state["torn"] == 0, f"seed {seed}"
        assert state["inbox"] == 20, f"seed {seed}"  # moved before the first email was sent
    dispatcher.run()
    assert dispatcher.state(ids) == {"dispatched": 20, "inbox": 20, "torn": 0}, f"seed {seed}"
    emails = dispatcher.emails()
    # At least once each; a kill between sending and committing may send one twice.
    assert set(emails) == {u.email for u in teachers}
    assert sum(emails.values()) <= 20 + kills, f"seed {seed}"

    dispatcher.import_back()
    _assert_delivered_once(rows)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_deliver_and_email_each_row_once(fanout, tmp_path):
    rows, teachers = fanout
    dispatcher = ExternalDispatcher(tmp_path)
    dispatcher.export()
    procs = [dispatcher.start(DISPATCH_ALL, XQ_MAIL_DELAY=0.02) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert dispatcher.emails() == Counter(u.email for u in teachers)
    dispatcher.import_back()
    _assert_delivered_once(rows)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_dispatcher_skips_a_row_another_worker_holds_and_delivers_it_later(fanout, tmp_path):
    """A row locked by another delivery (here: the test) is skipped, not waited for and not
    delivered twice; once the lock is gone the next run delivers it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE SKIP LOCKED) exist on PostgreSQL only")
    rows, _ = fanout
    ids = [r.pk for r in rows]
    held = rows[5]
    dispatcher = ExternalDispatcher(tmp_path)
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=120)
        finally:
            connection.close()
            done.set()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        dispatcher.run(DISPATCH_ONCE)  # returns although one row is locked
        state = dispatcher.state(ids)
        assert state == {"dispatched": 19, "inbox": 19, "torn": 0}
        assert not InboxMessage.objects.filter(notification=held).exists()
    finally:
        release.set()
        holder.join(timeout=30)
    assert done.is_set()
    dispatcher.run(DISPATCH_ONCE)
    assert dispatcher.state(ids) == {"dispatched": 20, "inbox": 20, "torn": 0}
    _assert_delivered_once(rows)


@pytest.mark.django_db
def test_a_failing_email_does_not_hold_back_the_inbox(fanout, settings, caplog):
    """The inbox message is delivered at once; the email is retried, then given up (logged)."""
    from xinqiao.notifications import services

    rows, _ = fanout
    settings.EMAIL_BACKEND = f"{__name__}.RefusingEmailBackend"
    assert services.dispatch_outbox() == 0
    assert InboxMessage.objects.filter(notification__in=rows).count() == 20
    for _ in range(services.EMAIL_MAX_ATTEMPTS - 2):
        services.dispatch_outbox()
    assert not Notification.objects.filter(pk__in=[r.pk for r in rows], dispatched_at__isnull=False)
    services.dispatch_outbox()  # the last attempt closes the rows without email
    assert not Notification.objects.filter(pk__in=[r.pk for r in rows], dispatched_at__isnull=True)
    row = Notification.objects.get(pk=rows[0].pk)
    assert (row.attempts, row.emailed_at) == (services.EMAIL_MAX_ATTEMPTS, None)
    assert InboxMessage.objects.filter(notification__in=rows).count() == 20
    assert "mail server down" in caplog.text
