"""Copy the notifications of the old stores into this app's: alerts.Outbox with its
alerts.InboxMessage (read state and timestamps kept; the alert becomes the generic reference) and
screening.Notification (a delivered reminder about its class). The old tables are dropped by the
next migrations of alerts and screening. Going back leaves the copies (the old tables come back
empty)."""

import uuid

from django.db import migrations

CHUNK = 2000
REMINDER_KIND = "screening.behind_schedule"


def _content_type(apps, app_label, model):
    ContentType = apps.get_model("contenttypes", "ContentType")
    return ContentType.objects.get_or_create(app_label=app_label, model=model)[0]


def _copy(apps, old_rows, to_notification, to_messages):
    """old_rows: a queryset ordered by id. Per chunk, write its notifications, then the inbox
    messages `to_messages(chunk, created)` makes of the old rows and their copies."""
    Notification = apps.get_model("notifications", "Notification")
    InboxMessage = apps.get_model("notifications", "InboxMessage")
    last = 0
    while True:
        chunk = list(old_rows.filter(id__gt=last)[:CHUNK])
        if not chunk:
            return
        created = Notification.objects.bulk_create([to_notification(old) for old in chunk])
        assert all(new.pk is not None for new in created)  # the database returned the new ids
        InboxMessage.objects.bulk_create(to_messages(chunk, created))
        last = chunk[-1].id


def copy_old_notifications(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    InboxMessage = apps.get_model("notifications", "InboxMessage")
    Outbox = apps.get_model("alerts", "Outbox")
    OldInbox = apps.get_model("alerts", "InboxMessage")
    Reminder = apps.get_model("screening", "Notification")

    if Outbox.objects.exists():
        alert_type = _content_type(apps, "alerts", "alert")

        def outbox_row(old):
            return Notification(
                recipient_id=old.recipient_id,
                kind=old.kind,
                ref_type=alert_type if old.alert_id else None,
                ref_id=old.alert_id,
                subject=old.subject,
                body=old.body,
                url=old.url,
                created_at=old.created_at,
                attempts=old.attempts,
                dispatched_at=old.dispatched_at,
                emailed_at=old.emailed_at,
            )

        def outbox_messages(chunk, created):
            delivered = {
                m.outbox_id: m for m in OldInbox.objects.filter(outbox_id__in=[o.id for o in chunk])
            }
            return [  # a row not delivered yet has none: the dispatcher will deliver it
                InboxMessage(
                    notification=new,
                    code=uuid.uuid4(),
                    recipient_id=m.recipient_id,
                    subject=m.subject,
                    body=m.body,
                    url=m.url,
                    created_at=m.created_at,
                    read_at=m.read_at,
                )
                for old, new in zip(chunk, created, strict=True)
                if (m := delivered.get(old.id)) is not None
            ]

        _copy(apps, Outbox.objects.order_by("id"), outbox_row, outbox_messages)

    if Reminder.objects.exists():
        class_type = _content_type(apps, "orgs", "orgunit")

        def reminder_row(old):
            # Delivered when written (the old store was the inbox itself; its email went at once).
            return Notification(
                recipient_id=old.recipient_id,
                kind=REMINDER_KIND,
                ref_type=class_type if old.school_class_id else None,
                ref_id=old.school_class_id,
                subject=old.message[:200],
                url=old.url,
                created_at=old.created_at,
                attempts=1,
                dispatched_at=old.created_at,
            )

        def reminder_messages(chunk, created):
            return [
                InboxMessage(
                    notification=new,
                    code=uuid.uuid4(),
                    recipient_id=old.recipient_id,
                    subject=new.subject,
                    url=old.url,
                    created_at=old.created_at,
                    read_at=old.read_at,
                )
                for old, new in zip(chunk, created, strict=True)
            ]

        _copy(apps, Reminder.objects.order_by("id"), reminder_row, reminder_messages)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("alerts", "0003_pending_submission"),
        ("screening", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_old_notifications, migrations.RunPython.noop)]
