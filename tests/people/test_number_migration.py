"""Migrations people.0010–0012: rows written before them (plaintext number and phones, the ID
number bound to the plaintext number) are encrypted and re-bound; backwards they are decrypted."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from xinqiao.core import crypto
from xinqiao.people.search import number_hash, number_tail_hash

BEFORE = [("people", "0009_importjob_files_purged_at")]
NUMBER, ID_NUMBER, PHONE = "G36010220130101001X", "36010220130101001X", "13912345678"


def _raw(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_numbers_and_phones_are_encrypted_and_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        apps = _migrate(BEFORE)
        unit = apps.get_model("orgs", "OrgUnit")
        school = unit.objects.create(kind="school", name="一中", path="0001", depth=0)
        student = apps.get_model("people", "Student").objects.create(
            student_number=NUMBER,
            name="王小明",
            gender="M",
            birth_date=datetime.date(2013, 1, 1),
            id_number=ID_NUMBER,
            school=school,
        )
        guardian = apps.get_model("people", "Guardian").objects.create(
            student=student, school=school, relation="mother", name="王妈妈", phone=PHONE
        )
        assert _raw("SELECT student_number FROM people_student") == [(NUMBER,)]

        _migrate(latest)
        from xinqiao.people.models import Guardian, Student

        row = Student.objects.get(pk=student.pk)
        assert (row.student_number, row.id_number) == (NUMBER, ID_NUMBER)
        assert row.student_number_hash == number_hash(NUMBER)
        assert row.number_tail_hash == number_tail_hash(NUMBER)
        assert Guardian.objects.get(pk=guardian.pk).phone == PHONE
        stored = " ".join(
            str(v)
            for r in _raw("SELECT * FROM people_student") + _raw("SELECT * FROM people_guardian")
            for v in r
        )
        for secret in (NUMBER, ID_NUMBER, PHONE):
            assert secret not in stored

        apps = _migrate(BEFORE)  # backwards: plaintext again, the ID number bound to it
        assert _raw("SELECT student_number, student_number_rev FROM people_student") == [
            (NUMBER, NUMBER[::-1])
        ]
        assert _raw("SELECT phone FROM people_guardian") == [(PHONE,)]
        token = _raw("SELECT id_number FROM people_student")[0][0]
        aad = crypto.field_aad("people_student", "id_number", NUMBER)
        assert crypto.decrypt(token, aad=aad) == ID_NUMBER
    finally:
        _migrate(latest)
