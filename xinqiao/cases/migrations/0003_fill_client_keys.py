# Existing rows get a key of their own ("migrated-<model>-<id>": a form's key is 32 hex digits,
# so none can match one), in one UPDATE per table.

from django.db import migrations, models
from django.db.models.functions import Cast, Concat

MODELS = ["schoolingchange", "sweep", "incident", "groupsession"]


def fill(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("cases", name)
        model.objects.filter(client_key__isnull=True).update(
            client_key=Concat(
                models.Value(f"migrated-{name}-"),
                Cast("id", output_field=models.CharField()),
                output_field=models.CharField(),
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_client_keys"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
