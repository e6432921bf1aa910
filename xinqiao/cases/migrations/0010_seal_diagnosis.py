"""Encrypt the referrals' diagnosis categories stored in plaintext before 0009_diagnosis_encrypted
(core/crypto.py), bound to table, column and row. Batched: each batch of rows commits on its own
(not atomic), so a run cut short is simply run again — what is already sealed under today's key
is skipped. Reversed, the values are written back as plaintext (the column can then turn back
into its old type)."""

from django.db import migrations


def seal(apps, schema_editor):
    from xinqiao.core.rotation import reseal_model

    for name in ("referral",):
        reseal_model(apps.get_model("cases", name), plaintext=True)


def unseal(apps, schema_editor):
    from xinqiao.core.rotation import unseal_model

    for name in ("referral",):
        unseal_model(apps.get_model("cases", name))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0009_diagnosis_encrypted")]

    operations = [migrations.RunPython(seal, unseal)]
