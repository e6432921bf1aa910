"""Step 3 of 3: the number's keyed hash is the unique key (and row key), guardians' codes are
unique, and the plaintext reversed copy of the number is gone."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0011_number_and_phones_encrypted_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="student",
            name="student_number_hash",
            field=models.CharField(
                editable=False,
                error_messages={
                    "unique": "A student with this national student number already exists."
                },
                max_length=64,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="guardian",
            name="code",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.RemoveField(
            model_name="student",
            name="student_number_rev",
        ),
    ]
