"""Encrypt the evidence of level changes and step-down requests stored in plaintext before
0011_evidence_encrypted (core/crypto.py), bound to table, column and row. Batched: each batch of
rows commits on its own (not atomic), so a run cut short is simply run again — what is already
sealed under today's key is skipped. Reversed, the values are written back as plaintext."""

from django.db import migrations

MODELS = ("levelchange", "stepdownrequest")


def seal(apps, schema_editor):
    from xinqiao.core.rotation import reseal_model

    for name in MODELS:
        reseal_model(apps.get_model("cases", name), plaintext=True)


def unseal(apps, schema_editor):
    from xinqiao.core.rotation import unseal_model

    for name in MODELS:
        unseal_model(apps.get_model("cases", name))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0011_evidence_encrypted")]

    operations = [migrations.RunPython(seal, unseal)]
