"""The keyed chain (issue 13): a scheme per event and the keyed record of where HMAC events start.

Events already written keep scheme 1 (plain SHA-256) and stay verifiable as they are; nothing is
re-hashed. The start record is written here, under AUDIT_CHAIN_KEY, pinning the last old event's
hash: from the next event on every hash is an HMAC, and an event after the cut-over rewritten
with plain SHA-256 is reported by verify_audit.
"""

from django.db import migrations, models

GENESIS = "0" * 64


def record_start(apps, schema_editor):
    from django.utils import timezone

    from xinqiao.audit.services import start_mac

    AuditEvent = apps.get_model("audit", "AuditEvent")
    KeyedChainStart = apps.get_model("audit", "KeyedChainStart")
    db = schema_editor.connection.alias
    if KeyedChainStart.objects.using(db).exists():
        return
    last = AuditEvent.objects.using(db).order_by("-seq").values_list("seq", "hash").first()
    first_seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    KeyedChainStart.objects.using(db).create(
        first_seq=first_seq,
        prev_hash=prev_hash,
        at=timezone.now(),
        mac=start_mac(first_seq=first_seq, prev_hash=prev_hash),
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [
        migrations.CreateModel(
            name="KeyedChainStart",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_seq", models.BigIntegerField(editable=False, unique=True)),
                ("prev_hash", models.CharField(editable=False, max_length=64)),
                ("at", models.DateTimeField(editable=False)),
                ("mac", models.CharField(editable=False, max_length=64)),
            ],
            options={
                "verbose_name": "keyed chain start",
                "verbose_name_plural": "keyed chain starts",
            },
        ),
        # Existing events are old-scheme events (1); new ones default to the keyed scheme (2).
        migrations.AddField(
            model_name="auditevent",
            name="scheme",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "SHA-256"), (2, "HMAC-SHA256")], default=1, editable=False
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="scheme",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "SHA-256"), (2, "HMAC-SHA256")], default=2, editable=False
            ),
        ),
        migrations.CreateModel(
            name="DeniedRequestTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("subject", models.CharField(editable=False, max_length=80)),
                ("minute", models.DateTimeField(editable=False)),
                ("count", models.PositiveIntegerField(default=0, editable=False)),
            ],
            options={
                "indexes": [models.Index(fields=["minute"], name="audit_denied_minute")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("subject", "minute"), name="audit_denied_subject_minute"
                    )
                ],
            },
        ),
        migrations.RunPython(record_start, migrations.RunPython.noop),
    ]
