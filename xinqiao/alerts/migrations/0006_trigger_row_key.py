"""A UUID row key for alert triggers, so their evidence can be encrypted bound to the row."""

import uuid

from django.db import migrations, models


def fill_codes(apps, schema_editor):
    model = apps.get_model("alerts", "alerttrigger")
    last = 0
    while True:  # in batches: a city's triggers
        rows = list(model.objects.filter(pk__gt=last).order_by("pk").only("pk")[:500])
        if not rows:
            return
        for row in rows:
            row.code = uuid.uuid4()
        model.objects.bulk_update(rows, ["code"])
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [("alerts", "0005_row_keys_bound")]

    operations = [
        migrations.AddField("alerttrigger", "code", models.UUIDField(null=True, editable=False)),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.AlterField(
            "alerttrigger",
            "code",
            models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
        ),
    ]
