from django.db import migrations, models

MODELS = ["schoolingchange", "sweep", "incident", "groupsession"]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_fill_client_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name=name,
            name="client_key",
            field=models.CharField(max_length=64, unique=True),
        )
        for name in MODELS
    ]
