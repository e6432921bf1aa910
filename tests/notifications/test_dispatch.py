"""The outbox dispatcher: a batch moves to the inboxes in the same statements however large, the
email goes one by one, at least once, retried; the inbox shows each row once. (Killed dispatchers
and two dispatchers at once: test_fanout_crash.py; escalation's rows: tests/alerts.)"""

from __future__ import annotations

from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from xinqiao.notifications import selectors
from xinqiao.notifications import services as notifications
from xinqiao.notifications.models import InboxMessage, Notification
from xinqiao.notifications.services import dispatch_outbox


def test_dispatch_moves_a_batch_in_the_same_statements_and_emails_one_by_one(staff, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    users = [staff.psych, staff.school_admin, staff.head_teacher, staff.mentor]
    staff.psych.email = "psych@example.cn"
    staff.psych.save()
    counts = []
    for recipients in (users[1:3], users[1:]):
        with transaction.atomic():
            notifications.notify(recipients=recipients, kind="t", subject="s")
        with CaptureQueriesContext(connection) as queries:
            assert dispatch_outbox() == len(recipients)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with transaction.atomic():
        notifications.notify(recipients=[staff.psych], kind="t", subject="s")
    assert dispatch_outbox() == 1
    assert [m.to for m in mail.outbox] == [["psych@example.cn"]]
    assert InboxMessage.objects.filter(notification__kind="t").count() == 6


def test_a_failed_email_keeps_one_inbox_message_and_is_retried(staff, settings):
    staff.psych.email = "psych@example.cn"
    staff.psych.save()
    with transaction.atomic():
        notifications.notify(recipients=[staff.psych], kind="t", subject="s")
    settings.EMAIL_BACKEND = f"{__name__}.FlakyMailServer"
    FlakyMailServer.sent = []
    assert dispatch_outbox() == 0
    row = Notification.objects.get(kind="t")
    assert row.dispatched_at is None
    assert row.attempts == 1
    assert dispatch_outbox() == 1
    assert InboxMessage.objects.filter(notification=row).count() == 1
    assert len(FlakyMailServer.sent) == 2
    # the retry is the same message to mail servers that drop duplicates by id
    first, second = (m.extra_headers["Message-ID"] for m in FlakyMailServer.sent)
    assert first == second == f"<notification-{row.pk}@localhost>"


class FlakyMailServer(BaseEmailBackend):
    """Refuses the first message it is given, accepts the rest; keeps every message."""

    sent: list[EmailMessage] = []

    def send_messages(self, email_messages):
        FlakyMailServer.sent += email_messages
        if len(FlakyMailServer.sent) == 1:
            raise OSError("smtp down")
        return len(email_messages)


def test_a_row_delivered_again_after_a_crash_is_shown_once(staff):
    with transaction.atomic():
        notifications.notify(recipients=[staff.psych, staff.psych, None], kind="t", subject="s")
    assert Notification.objects.filter(kind="t").count() == 1  # each recipient once
    assert dispatch_outbox() == 1
    Notification.objects.filter(kind="t").update(dispatched_at=None)  # died before marking
    assert dispatch_outbox() == 1
    assert InboxMessage.objects.filter(notification__kind="t").count() == 1


def test_notify_queues_in_the_transaction_and_kicks_the_dispatcher_after_commit(
    staff, monkeypatch, django_capture_on_commit_callbacks
):
    with transaction.atomic():  # a message about another student, which `about` must leave out
        notifications.notify(recipients=[staff.psych], kind="other", subject="s", ref=staff.stu_a2)
    kicked = []
    monkeypatch.setattr(notifications, "kick_soon", kicked.append)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            notifications.notify(recipients=[staff.psych], kind="t", subject="s", ref=staff.stu_a1)
            assert kicked == []  # not before the commit
    assert [task.name for task in kicked] == ["xinqiao.notifications.tasks.dispatch_outbox"]
    row = Notification.objects.get(kind="t")
    assert row.ref == staff.stu_a1
    assert list(Notification.objects.about(staff.stu_a1)) == [row]


def test_selectors_count_a_users_unread_messages_only(staff):
    with transaction.atomic():  # older messages, already read: they must not count
        notifications.notify(recipients=[staff.psych, staff.mentor], kind="old", subject="old")
    dispatch_outbox()
    InboxMessage.objects.update(read_at="2026-12-01T00:00Z")
    with transaction.atomic():
        notifications.notify(recipients=[staff.psych, staff.mentor], kind="t", subject="s")
        notifications.notify(recipients=[staff.psych], kind="t", subject="s2")
    dispatch_outbox()
    assert selectors.unread_count(user=staff.psych) == 2
    assert selectors.unread_count(user=staff.mentor) == 1
    assert [m.subject for m in selectors.inbox(user=staff.mentor)][:1] == ["s"]
