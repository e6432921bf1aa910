"""The helplines shown before the directory existed (settings.HELPLINES, seed §11) become the
city's lines of the directory: 12355, 12356, 966525, 0791-88330120, in that order."""

from django.db import migrations

LINES = [
    ("12355", "青少年服务台", "青少年、家长"),
    ("12356", "全国心理援助热线", "所有人"),
    ("966525", "心理援助热线", "所有人"),
    ("0791-88330120", "心理援助热线", "所有人"),
]


def seed(apps, schema_editor):
    Hotline = apps.get_model("emergency", "Hotline")
    for order, (number, name, audience) in enumerate(LINES, start=1):
        if not Hotline.objects.filter(unit__isnull=True, number=number).exists():
            Hotline.objects.create(
                unit=None,
                number=number,
                name=name,
                hours="24小时",
                audience=audience,
                order=order * 10,
            )


def unseed(apps, schema_editor):
    Hotline = apps.get_model("emergency", "Hotline")
    Hotline.objects.filter(unit__isnull=True, number__in=[n for n, _, _ in LINES]).delete()


class Migration(migrations.Migration):
    dependencies = [("emergency", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
