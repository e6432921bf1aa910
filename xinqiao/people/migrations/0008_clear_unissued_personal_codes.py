"""Students made without a personal code got the text of Django's database-default marker sealed
as their code (the encrypted field sealed `DatabaseDefault` itself). A code without a hash was never
issued and never signs anyone in: store it empty again."""

from django.db import migrations


def clear_unissued_codes(apps, schema_editor):
    Student = apps.get_model("people", "Student")
    Student.objects.filter(personal_code_hash="").exclude(personal_code="").update(personal_code="")


class Migration(migrations.Migration):
    dependencies = [("people", "0007_bound_to_student_number")]

    operations = [migrations.RunPython(clear_unissued_codes, migrations.RunPython.noop)]
