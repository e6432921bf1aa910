"""Re-seal every version-1 field value (no associated data) under the v2 format, bound to its
table, column and row (core/crypto.py). Idempotent: values already current are skipped."""

from django.db import migrations


def seal(apps, schema_editor):
    from xinqiao.core.rotation import encrypted_models, reseal_model

    for model in encrypted_models(apps):
        reseal_model(model)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_row_keys_bound"),
        ("alerts", "0005_row_keys_bound"),
        ("people", "0007_bound_to_student_number"),
        ("core", "0002_crypto_state"),
    ]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
