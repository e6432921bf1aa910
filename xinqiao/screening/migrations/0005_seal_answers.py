"""Encrypt the answers, drafts, scores, critical and unanswered items stored in plaintext before
0004_answers_encrypted (core/crypto.py), bound to table, column and row. Batched: each batch of
rows commits on its own (not atomic), so a run cut short is simply run again — what is already
sealed under today's key is skipped. Reversed, the values are written back as plaintext (the
column can then turn back into its old type)."""

from django.db import migrations


# Only the columns this migration made encrypted: the models' other encrypted columns were
# sealed (and are unsealed) by their own migrations.
COLUMNS = {"answerdraft": ("answer",), "response": ("answers", "scores", "critical", "missing")}


def seal(apps, schema_editor):
    from xinqiao.core.rotation import reseal_model

    for name, columns in COLUMNS.items():
        reseal_model(apps.get_model("screening", name), plaintext=True, only=columns)


def unseal(apps, schema_editor):
    from xinqiao.core.rotation import unseal_model

    for name, columns in COLUMNS.items():
        unseal_model(apps.get_model("screening", name), only=columns)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("screening", "0004_answers_encrypted")]

    operations = [migrations.RunPython(seal, unseal)]
