"""The 学籍号 and the guardians' and staff's phones become encrypted (issue 13, step 1 of 3): the
columns become text, the keyed hashes of the number are added (filled by 0009, made unique by
0010), and guardians get the UUID their phone is bound to."""

from django.db import migrations, models

import xinqiao.core.fields
import xinqiao.people.validators


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0009_importjob_files_purged_at"),
        # v1 values are re-sealed over the columns encrypted then, before this adds more.
        ("cases", "0008_seal_v2"),
    ]

    operations = [
        migrations.AddField(
            model_name="guardian",
            name="code",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="student",
            name="student_number_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="student",
            name="number_tail_hash",
            field=models.CharField(
                blank=True, db_default="", db_index=True, editable=False, max_length=16
            ),
        ),
        migrations.AlterField(
            model_name="student",
            name="student_number",
            field=xinqiao.core.fields.EncryptedTextField(
                row_key="student_number_hash",
                validators=[xinqiao.people.validators.validate_student_number],
                verbose_name="national student number",
            ),
        ),
        migrations.AlterField(
            model_name="student",
            name="id_number",
            field=xinqiao.core.fields.EncryptedTextField(
                blank=True, row_key="student_number_hash", verbose_name="resident ID number"
            ),
        ),
        migrations.AlterField(
            model_name="student",
            name="personal_code",
            field=xinqiao.core.fields.EncryptedTextField(
                blank=True,
                db_default="",
                editable=False,
                row_key="student_number_hash",
                verbose_name="personal sign-in code",
            ),
        ),
        migrations.AlterField(
            model_name="guardian",
            name="phone",
            field=xinqiao.core.fields.EncryptedTextField(
                row_key="code",
                validators=[xinqiao.people.validators.validate_mobile],
                verbose_name="mobile",
            ),
        ),
        migrations.AlterField(
            model_name="staff",
            name="phone",
            field=xinqiao.core.fields.EncryptedTextField(
                blank=True,
                row_key="code",
                validators=[xinqiao.people.validators.validate_mobile],
                verbose_name="mobile",
            ),
        ),
    ]
