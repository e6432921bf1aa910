# Sweeps, incidents, group sessions and schooling changes take a client key from their forms
# (retry safety), like follow-ups, guardian contacts and referrals. Added nullable here, filled
# for existing rows in 0003, made unique and required in 0004.

from django.db import migrations, models

MODELS = ["schoolingchange", "sweep", "incident", "groupsession"]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name=name,
            name="client_key",
            field=models.CharField(max_length=64, null=True),
        )
        for name in MODELS
    ]
