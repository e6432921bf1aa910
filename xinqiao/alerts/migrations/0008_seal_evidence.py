"""Encrypt the alert and trigger evidence stored in plaintext before 0007_evidence_encrypted
(core/crypto.py), bound to table, column and row. Batched: each batch of rows commits on its own
(not atomic), so a run cut short is simply run again — what is already sealed under today's key
is skipped. Reversed, the values are written back as plaintext (the column can then turn back
into its old type)."""

from django.db import migrations


def seal(apps, schema_editor):
    from xinqiao.core.rotation import reseal_model

    for name in ("alert", "alerttrigger"):
        reseal_model(apps.get_model("alerts", name), plaintext=True)


def unseal(apps, schema_editor):
    from xinqiao.core.rotation import unseal_model

    for name in ("alert", "alerttrigger"):
        unseal_model(apps.get_model("alerts", name))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("alerts", "0007_evidence_encrypted")]

    operations = [migrations.RunPython(seal, unseal)]
