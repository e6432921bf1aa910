from django.db import migrations, models


def seal_stored_imports(apps, schema_editor):
    # Rosters and error reports stored before uploads were encrypted: sealed in place, so the
    # importer and rotate_keys meet only sealed files.
    from xinqiao.people.importer.files import seal_plaintext_imports

    seal_plaintext_imports()


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0008_clear_unissued_personal_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="files_purged_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="files deleted at"),
        ),
        migrations.RunPython(seal_stored_imports, migrations.RunPython.noop, elidable=True),
    ]
