# Paper feedback on referrals: where the feedback came from, the scanned letter, and the retry key
# of the form that records it. Referrals that already have feedback got it from the psychiatrist.

import django.db.models.deletion
from django.db import migrations, models


def mark_existing_feedback(apps, schema_editor):
    referral = apps.get_model("cases", "Referral")
    referral.objects.filter(feedback_at__isnull=False).update(feedback_source="psychiatrist")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_unique_client_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="feedback_client_key",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="referral",
            name="feedback_letter",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cases.casedocument",
            ),
        ),
        migrations.AddField(
            model_name="referral",
            name="feedback_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("psychiatrist", "Given by the psychiatrist"),
                    ("paper", "Recorded from the hospital's letter"),
                ],
                max_length=12,
                verbose_name="feedback from",
            ),
        ),
        migrations.AlterField(
            model_name="casedocument",
            name="kind",
            field=models.CharField(
                choices=[
                    ("guardian_ack", "Guardian's signed acknowledgement"),
                    ("referral_consent", "Guardian's consent to referral"),
                    ("medical", "Medical document"),
                    ("medical_opinion", "Medical opinion on return to school"),
                    ("referral_feedback", "Hospital's feedback letter on a referral"),
                    ("other", "Other"),
                ],
                max_length=18,
                verbose_name="kind",
            ),
        ),
        migrations.RunPython(mark_existing_feedback, migrations.RunPython.noop),
    ]
