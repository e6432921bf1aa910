"""Step 2 of 3: encrypt the stored 学籍号 and phones, and fill the number's keyed hashes.

The ID number and the personal code were bound to the plaintext number (row key
"student_number"); they are re-sealed bound to the number's keyed hash (`student_number_hash`,
fixed before the insert and never changed). Guardians get a UUID `code`, the row key their phone
is bound to; staff phones are bound to the staff's existing `code`.

Reversible: backwards, the number and phones are decrypted into their columns again and the ID
number and personal code re-sealed bound to the plaintext number (the reversed-number search
key, `student_number_rev`, is refilled). Rows already in the target form are skipped, so a run
that stopped part-way can be run again. One UPDATE per row: minutes for a million students.
"""

import uuid

from django.db import migrations

TABLE = "people_student"


def _open(token, column, row):
    from xinqiao.core import crypto

    if token.startswith("v1:"):
        return crypto.decrypt_legacy(token)
    return crypto.decrypt(token, aad=crypto.field_aad(TABLE, column, row))


def _seal(table, column, row, plain):
    from xinqiao.core import crypto
    from xinqiao.core.fields import Sealed

    if plain in (None, ""):
        return plain
    return Sealed(crypto.encrypt(plain, aad=crypto.field_aad(table, column, row)))


def _token(value):
    return None if value is None else getattr(value, "token", value)


def encrypt(apps, schema_editor):
    from xinqiao.people import search

    Student = apps.get_model("people", "Student")
    rows = Student.objects.order_by("pk").values_list(
        "pk", "student_number", "student_number_hash", "id_number", "personal_code"
    )
    for pk, number, done, id_token, code_token in rows.iterator(chunk_size=2000):
        stored = _token(number)  # the row key the ID number and personal code were bound to
        if done:  # already encrypted by an earlier, interrupted run
            continue
        number = search.normalised_number(stored)
        row = search.number_hash(number)
        changes = {
            "student_number": _seal(TABLE, "student_number", row, number),
            "student_number_hash": row,
            "number_tail_hash": search.number_tail_hash(number),
        }
        for column, token in (("id_number", _token(id_token)), ("personal_code", _token(code_token))):
            if token:
                changes[column] = _seal(TABLE, column, row, _open(token, column, stored))
        Student.objects.filter(pk=pk).update(**changes)

    Guardian = apps.get_model("people", "Guardian")
    for pk, code, phone in Guardian.objects.values_list("pk", "code", "phone").iterator():
        if code is not None:
            continue
        code = uuid.uuid4()
        sealed = _seal("people_guardian", "phone", code, _token(phone))
        Guardian.objects.filter(pk=pk).update(code=code, phone=sealed)

    Staff = apps.get_model("people", "Staff")
    for pk, code, phone in Staff.objects.values_list("pk", "code", "phone").iterator():
        phone = _token(phone)
        if phone and not phone.startswith("v2:"):
            Staff.objects.filter(pk=pk).update(phone=_seal("people_staff", "phone", code, phone))


def decrypt(apps, schema_editor):
    from xinqiao.core import crypto
    from xinqiao.core.fields import Sealed

    def plain(value):
        return None if value is None else Sealed(value)

    Student = apps.get_model("people", "Student")
    rows = Student.objects.order_by("pk").values_list(
        "pk", "student_number", "student_number_hash", "id_number", "personal_code"
    )
    for pk, number, row, id_token, code_token in rows.iterator(chunk_size=2000):
        if not row:
            continue
        number = _open(_token(number), "student_number", row)
        changes = {
            "student_number": plain(number),
            "student_number_rev": number[::-1],
            "student_number_hash": None,
            "number_tail_hash": "",
        }
        for column, token in (("id_number", _token(id_token)), ("personal_code", _token(code_token))):
            if token:
                changes[column] = _seal(TABLE, column, number, _open(token, column, row))
        Student.objects.filter(pk=pk).update(**changes)

    for model_name, table in (("Guardian", "people_guardian"), ("Staff", "people_staff")):
        model = apps.get_model("people", model_name)
        for pk, code, phone in model.objects.values_list("pk", "code", "phone").iterator():
            phone = _token(phone)
            if phone and phone.startswith("v2:"):
                text = crypto.decrypt(phone, aad=crypto.field_aad(table, "phone", code))
                model.objects.filter(pk=pk).update(phone=plain(text))


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0010_number_and_phones_encrypted_schema"),
        # v1 values are re-sealed first (that migration binds the ID number to the plaintext
        # number, which this one then reads).
        ("cases", "0008_seal_v2"),
    ]

    operations = [migrations.RunPython(encrypt, decrypt)]
