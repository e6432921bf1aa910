"""A UUID row key for the models whose encrypted fields had no stable key to bind to."""

import uuid

from django.db import migrations, models

NEW_CODES = ["casetransfer", "levelchange", "stepdownrequest", "supportplan", "sweepreview"]


def fill_codes(apps, schema_editor):
    for name in NEW_CODES:
        model = apps.get_model("cases", name)
        rows = list(model.objects.only("pk"))
        for row in rows:
            row.code = uuid.uuid4()
        model.objects.bulk_update(rows, ["code"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_referral_paper_feedback")]

    operations = [
        *[
            migrations.AddField(name, "code", models.UUIDField(null=True, editable=False))
            for name in NEW_CODES
        ],
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        *[
            migrations.AlterField(
                name,
                "code",
                models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
            )
            for name in NEW_CODES
        ],
    ]
