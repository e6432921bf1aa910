"""Field encryption: both cipher suites, binding to table/column/row, key rotation."""

import base64
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction

from xinqiao.access.models import SealedTOTPDevice
from xinqiao.access.two_factor import reseal_authenticator_secrets
from xinqiao.cases import documents
from xinqiao.core import crypto, rotation
from xinqiao.core.models import CryptoState
from xinqiao.people.models import Guardian, Student
from xinqiao.people.selectors import search_students
from xinqiao.people.services import add_guardian, give_new_personal_code

from ..cases.test_care_services import case_a1  # noqa: F401  (a fixture)
from ..conftest import ID_A1, ID_A2

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def write_raw(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def reload(student: Student) -> Student:
    return Student.objects.get(pk=student.pk)


@pytest.mark.parametrize("suite", ["aes", "sm"])
def test_each_suite_round_trips_and_names_itself(settings, suite):
    settings.CRYPTO_SUITE = suite
    token = crypto.encrypt("抑郁倾向，需关注", aad=b"t\x1fc\x1f1")
    assert token.startswith(f"v2:{suite}:{crypto.key_id(settings.FIELD_ENCRYPTION_KEY)}:")
    assert "抑郁" not in token
    assert crypto.decrypt(token, aad=b"t\x1fc\x1f1") == "抑郁倾向，需关注"
    with pytest.raises(crypto.TamperedValue):
        crypto.decrypt(token, aad=b"t\x1fc\x1f2")
    blob = crypto.encrypt_bytes(PDF, aad=b"f")
    assert PDF not in blob
    assert crypto.decrypt_bytes(blob, aad=b"f") == PDF


@pytest.mark.parametrize("suite", ["aes", "sm"])
def test_a_changed_byte_is_refused(settings, suite):
    settings.CRYPTO_SUITE = suite
    token = crypto.encrypt("x" * 40)
    prefix, body = token.rsplit(":", 1)
    data = bytearray(base64.b64decode(body))
    data[20] ^= 1
    with pytest.raises(crypto.TamperedValue):
        crypto.decrypt(f"{prefix}:{base64.b64encode(bytes(data)).decode()}")


def test_the_sm_suite_hashes_with_sm3(settings):
    aes = crypto.keyed_hash("G360102201301010011")
    settings.CRYPTO_SUITE = "sm"
    sm = crypto.keyed_hash("G360102201301010011")
    assert sm != aes
    assert len(sm) == 64
    assert sm == crypto.keyed_hash(" g360102201301010011 ")  # normalised


def test_a_value_copied_to_another_row_does_not_open(world):
    write_raw(
        "people_student",
        "id_number",
        world.stu_a2.pk,
        raw("people_student", "id_number", world.stu_a1.pk),
    )
    assert reload(world.stu_a1).id_number == ID_A1
    with pytest.raises(crypto.TamperedValue):
        reload(world.stu_a2).id_number  # noqa: B018


def test_a_value_copied_to_another_column_does_not_open(world):
    give_new_personal_code(world.stu_a1)
    write_raw(
        "people_student",
        "personal_code",
        world.stu_a1.pk,
        raw("people_student", "id_number", world.stu_a1.pk),
    )
    with pytest.raises(crypto.TamperedValue):
        reload(world.stu_a1).personal_code  # noqa: B018


def test_a_field_left_to_its_database_default_is_stored_empty(world):
    # The field once sealed Django's default marker itself: each student without a personal
    # code got a different "code" (the marker's address), and rotate_keys' rehash collided.
    assert raw("people_student", "personal_code", world.stu_a1.pk) == ""
    assert reload(world.stu_a1).personal_code == ""


def test_values_and_defer_leave_the_ciphertext_sealed(world):
    (value,) = Student.objects.filter(pk=world.stu_a1.pk).values_list("id_number", flat=True)
    assert "Sealed" in repr(value)
    assert ID_A1 not in repr(value)
    student = Student.objects.defer("id_number").get(pk=world.stu_a1.pk)
    assert student.id_number == ID_A1


def test_encrypted_fields_cannot_be_searched_or_bulk_updated(world):
    with pytest.raises(TypeError), transaction.atomic():
        list(Student.objects.filter(id_number=ID_A1))
    with pytest.raises(TypeError), transaction.atomic():
        Student.objects.filter(pk=world.stu_a1.pk).update(id_number=ID_A2)
    assert reload(world.stu_a1).id_number == ID_A1


def test_an_old_key_stays_readable_and_an_unknown_key_is_named(world, settings):
    old = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = new_key()
    with pytest.raises(crypto.TamperedValue, match="unknown key"):
        reload(world.stu_a1).id_number  # noqa: B018
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old]
    assert reload(world.stu_a1).id_number == ID_A1


def test_version_1_values_are_resealed_bound_to_their_row(world):
    token = crypto._legacy().encrypt(b"\x00" * 12, ID_A1.encode(), None)
    write_raw(
        "people_student",
        "id_number",
        world.stu_a1.pk,
        "v1:" + base64.b64encode(b"\x00" * 12 + token).decode(),
    )
    progress = rotation.reseal_model(Student)
    assert progress.values_resealed == 1
    assert crypto.is_current(raw("people_student", "id_number", world.stu_a1.pk))
    assert reload(world.stu_a1).id_number == ID_A1


def _document(world, case):
    upload = SimpleUploadedFile("回执.pdf", PDF, content_type="application/pdf")
    return documents.save_document(case=case, kind="other", upload=upload, actor=world.psych)


@pytest.mark.parametrize("suite", ["aes", "sm"])
def test_rotate_keys_re_encrypts_everything_and_is_resumable(world, settings, suite, case_a1):  # noqa: F811
    document = _document(world, case_a1)
    device = SealedTOTPDevice.objects.create(user=world.psych, name="app", confirmed=True)
    secret = device.bin_key
    guardian = add_guardian(
        actor=None, student=world.stu_a1, relation="grandparent", name="王奶奶", phone="13800138000"
    )
    code = give_new_personal_code(world.stu_a1)
    number, old_row_key = world.stu_a1.student_number, reload(world.stu_a1).student_number_hash
    old = settings.FIELD_ENCRYPTION_KEY
    call_command("rotate_keys", stdout=open(os.devnull, "w"))  # records today's hash fingerprint
    settings.FIELD_ENCRYPTION_KEY = new_key()
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old]
    settings.CRYPTO_SUITE = suite

    call_command("rotate_keys", "--batch-size", "1", stdout=open(os.devnull, "w"))

    settings.FIELD_ENCRYPTION_OLD_KEYS = []  # the old key is gone: everything must open
    assert reload(world.stu_a1).id_number == ID_A1
    assert all(
        crypto.is_current(raw("people_student", "id_number", s.pk))
        for s in (world.stu_a1, world.stu_a2, world.stu_b1)
    )
    assert documents.read_document(document) == PDF
    device = SealedTOTPDevice.objects.get(pk=device.pk)
    assert crypto.is_current(device.key)
    assert device.bin_key == secret
    assert CryptoState.objects.get().hash_fingerprint == crypto.hash_fingerprint()
    # The hashes follow the suite: exact ID search still finds the student.
    assert [s.pk for s in search_students(Student.objects.all(), ID_A1)] == [world.stu_a1.pk]
    # So do the number's hashes; the number's hash is the row key of the student's encrypted
    # fields: where it changed (a new suite), they were sealed again under it.
    student = reload(world.stu_a1)
    assert (student.student_number_hash != old_row_key) == (suite == "sm")
    assert (student.student_number, student.id_number) == (number, ID_A1)
    assert student.personal_code == code
    assert [s.pk for s in search_students(Student.objects.all(), number)] == [world.stu_a1.pk]
    assert [s.pk for s in Student.objects.all().pick(number[-4:])] == [world.stu_a1.pk]
    assert Guardian.objects.get(pk=guardian.pk).phone == "13800138000"
    assert crypto.is_current(raw("people_guardian", "phone", guardian.pk))
    # Nothing left to do on a second run (a run that stopped part-way resumes this way).
    assert rotation.reseal_model(Student).values_resealed == 0
    assert rotation.reseal_files() == 0


def test_authenticator_secrets_stored_in_hex_are_sealed_bound_to_their_user(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    plain = TOTPDevice.objects.create(
        user=world.psych, name="app", confirmed=True
    )  # hex, as before
    secret = bytes.fromhex(plain.key)
    assert reseal_authenticator_secrets() == 1
    device = SealedTOTPDevice.objects.get(pk=plain.pk)
    assert device.key.startswith("v2:")
    assert device.bin_key == secret
    write_raw("otp_totp_totpdevice", "user_id", device.pk, str(world.psych_b.pk))
    with pytest.raises(crypto.TamperedValue):  # moved to another user: does not open
        SealedTOTPDevice.objects.get(pk=plain.pk).bin_key  # noqa: B018
