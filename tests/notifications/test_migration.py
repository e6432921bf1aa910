"""The data migration: the old stores' rows (alerts.Outbox with its InboxMessage, and
screening.Notification) end in the notifications app's store with their read state and times."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from xinqiao.notifications.models import InboxMessage, Notification

BEFORE = [
    ("notifications", "0001_initial"),
    ("alerts", "0003_pending_submission"),
    ("screening", "0001_initial"),
]
T0 = datetime.datetime(2026, 11, 2, 8, 0, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)


@pytest.mark.migrations
@pytest.mark.django_db(transaction=True)
def test_old_notifications_are_copied_with_read_state_and_times(world):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        Outbox = old.get_model("alerts", "Outbox")
        OldInbox = old.get_model("alerts", "InboxMessage")
        Reminder = old.get_model("screening", "Notification")
        read = Outbox.objects.create(
            recipient_id=world.psych.pk,
            kind="alert.raised",
            alert_id=world.alert_a1.pk,
            subject="New orange alert: 王小明",
            url="/alerts/x/",
            created_at=T0,
            attempts=2,
            dispatched_at=T0 + H,
            emailed_at=T0 + H,
        )
        OldInbox.objects.create(
            outbox=read,
            recipient_id=world.psych.pk,
            subject=read.subject,
            url=read.url,
            created_at=T0,
            read_at=T0 + 2 * H,
        )
        Outbox.objects.create(
            recipient_id=world.school_admin.pk,
            kind="case.opened",
            subject="未送达",
            created_at=T0 + H,
        )
        Reminder.objects.create(
            recipient_id=world.head_teacher.pk,
            campaign_id=world.campaign.pk,
            school_class_id=world.class_a1.pk,
            message="七(1)班在“秋季筛查”中进度滞后，请安排施测。",
            url="/screening/my-classes/",
            created_at=T0 + 3 * H,
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    copied = Notification.objects.get(subject="New orange alert: 王小明")
    assert copied.recipient == world.psych
    assert copied.ref == world.alert_a1
    assert Notification.objects.filter(alert=world.alert_a1, pk=copied.pk).exists()
    assert (copied.kind, copied.url, copied.attempts) == ("alert.raised", "/alerts/x/", 2)
    assert (copied.created_at, copied.dispatched_at, copied.emailed_at) == (T0, T0 + H, T0 + H)
    message = InboxMessage.objects.get(notification=copied)
    assert (message.recipient, message.created_at, message.read_at) == (
        world.psych,
        T0,
        T0 + 2 * H,
    )

    pending = Notification.objects.get(subject="未送达")
    assert (pending.ref, pending.dispatched_at, pending.created_at) == (None, None, T0 + H)
    assert not InboxMessage.objects.filter(notification=pending).exists()

    reminder = Notification.objects.get(kind="screening.behind_schedule")
    assert reminder.recipient == world.head_teacher
    assert reminder.ref == world.class_a1
    assert reminder.subject == "七(1)班在“秋季筛查”中进度滞后，请安排施测。"
    assert reminder.dispatched_at == T0 + 3 * H
    message = InboxMessage.objects.get(notification=reminder)
    assert (message.subject, message.read_at) == (reminder.subject, None)
