"""Encrypt the referrals' diagnosis categories stored in plaintext before 0009_diagnosis_encrypted
(core/crypto.py), bound to table, column and row. Batched: each batch of rows commits on its own
(not atomic), so a run cut short is simply run again — what is already sealed under today's key
is skipped. Reversed, the values are written back as plaintext (the column can then turn back
into its old type)."""

from django.db import migrations


# Only the columns this migration made encrypted: the models' other encrypted columns were
# sealed (and are unsealed) by their own migrations.
COLUMNS = {"referral": ("diagnosis_category",)}


def seal(apps, schema_editor):
    from xinqiao.core.rotation import reseal_model

    for name, columns in COLUMNS.items():
        reseal_model(apps.get_model("cases", name), plaintext=True, only=columns)


def unseal(apps, schema_editor):
    from xinqiao.core.rotation import unseal_model

    for name, columns in COLUMNS.items():
        unseal_model(apps.get_model("cases", name), only=columns)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0009_diagnosis_encrypted")]

    operations = [migrations.RunPython(seal, unseal)]
