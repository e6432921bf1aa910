"""The 学籍号 and the guardians' and staff's phones are encrypted at rest (issue 13): nothing in the
tables gives them away, a value moved to another row does not open, and every lookup by number
goes through its keyed hashes (the whole number, or its last four characters)."""

import pytest
from django.db import connection

from xinqiao.core import crypto
from xinqiao.people.models import Guardian, Staff, Student
from xinqiao.people.search import number_hash, number_tail_hash
from xinqiao.people.selectors import search_students
from xinqiao.people.services import add_guardian

from ..conftest import ID_A1
from .roster_files import student_row, write_csv
from .test_import import _media, last_line, rows, run, schools  # noqa: F401  (fixtures)

PHONE = "13912345678"


def _raw_rows(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        return [" ".join(str(v) for v in row) for row in cursor.fetchall()]


def _write_raw(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def _read_raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def guardian(world):
    return add_guardian(
        actor=None, student=world.stu_a1, relation="grandparent", name="王奶奶", phone=PHONE
    )


def test_no_number_id_number_tail_or_phone_in_the_tables(world, guardian):
    staff = Staff.objects.first()
    staff.phone = "13787654321"
    staff.save()
    number = world.stu_a1.student_number
    assert number == "G" + ID_A1
    everything = " ".join(
        _raw_rows("people_student") + _raw_rows("people_guardian") + _raw_rows("people_staff")
    )
    for secret in (number, ID_A1, number[-6:], number[::-1][:8], PHONE, "13787654321"):
        assert secret not in everything
    assert _read_raw("people_student", "student_number", world.stu_a1.pk).startswith("v2:")
    assert _read_raw("people_guardian", "phone", guardian.pk).startswith("v2:")
    # Read through the models, they are the plaintext again.
    assert Student.objects.get(pk=world.stu_a1.pk).student_number == number
    assert Guardian.objects.get(pk=guardian.pk).phone == PHONE
    assert Staff.objects.get(pk=staff.pk).phone == "13787654321"


def test_search_by_the_whole_number_and_by_a_four_character_tail(world):
    number = world.stu_a1.student_number
    everyone = Student.objects.all()
    assert [s.pk for s in search_students(everyone, number)] == [world.stu_a1.pk]
    assert [s.pk for s in search_students(everyone, number.lower())] == [world.stu_a1.pk]
    assert [s.pk for s in everyone.search(number)] == [world.stu_a1.pk]
    assert list(search_students(everyone, number[:-1] + "9")) == []
    assert [s.pk for s in everyone.pick(number[-4:])] == [world.stu_a1.pk]
    assert [s.pk for s in everyone.pick(number[-4:].lower())] == [world.stu_a1.pk]
    # Longer tails: candidates by the last four, checked against the decrypted number.
    assert [s.pk for s in everyone.pick(number[-7:])] == [world.stu_a1.pk]
    assert everyone.pick("9" + number[-6:]) == []
    stored = Student.objects.get(pk=world.stu_a1.pk)
    assert stored.student_number_hash == number_hash(number)
    assert stored.number_tail_hash == number_tail_hash(number)
    assert len(stored.number_tail_hash) == 16


def test_a_number_or_phone_copied_to_another_row_does_not_open(world, guardian):
    a1, a2 = world.stu_a1, world.stu_a2
    _write_raw(
        "people_student",
        "student_number",
        a2.pk,
        _read_raw("people_student", "student_number", a1.pk),
    )
    with pytest.raises(crypto.TamperedValue):
        Student.objects.get(pk=a2.pk).student_number  # noqa: B018
    # Nor does a row key changed behind the model's back: the ID number no longer opens.
    _write_raw("people_student", "student_number_hash", a2.pk, number_hash("G" + "9" * 18))
    with pytest.raises(crypto.TamperedValue):
        Student.objects.get(pk=a2.pk).id_number  # noqa: B018
    other = add_guardian(
        actor=None, student=a2, relation="grandparent", name="李奶奶", phone="13700000000"
    )
    _write_raw(
        "people_guardian", "phone", other.pk, _read_raw("people_guardian", "phone", guardian.pk)
    )
    with pytest.raises(crypto.TamperedValue):
        Guardian.objects.get(pk=other.pk).phone  # noqa: B018


def test_the_number_of_a_student_cannot_change(world):
    student = Student.objects.get(pk=world.stu_a1.pk)
    student.student_number = "G" + "1" * 18
    with pytest.raises(ValueError, match="cannot be changed"):
        student.save()
    assert Student.objects.get(pk=world.stu_a1.pk).student_number == "G" + ID_A1


def test_a_reimport_matches_by_number_and_writes_nothing(schools, tmp_path):  # noqa: F811
    data = rows(3)
    run(write_csv(tmp_path / "roster.csv", data))
    count = Student.objects.count()
    before = {
        "student": sorted(_raw_rows("people_student")),
        "guardian": sorted(_raw_rows("people_guardian")),
    }
    out, _err = run(write_csv(tmp_path / "again.csv", data))
    assert last_line(out) == "created=0 updated=0 unchanged=3 rejected=0"
    # Not a single ciphertext re-written (no new nonce), not even the guardians' phones.
    assert sorted(_raw_rows("people_student")) == before["student"]
    assert sorted(_raw_rows("people_guardian")) == before["guardian"]

    number = student_row(2)["全国学籍号"]
    guardian = Guardian.objects.get(student__student_number_hash=number_hash(number))
    changed = [dict(r) for r in data]
    changed[1]["监护人电话"] = "13911112222"
    changed[2]["姓名"] = "改名"
    out, _err = run(write_csv(tmp_path / "changed.csv", changed))
    assert last_line(out) == "created=0 updated=2 unchanged=1 rejected=0"
    again = Guardian.objects.get(pk=guardian.pk)
    assert (again.phone, again.code) == ("13911112222", guardian.code)  # same row, same key
    assert Student.objects.filter(name="改名").get().student_number == student_row(3)["全国学籍号"]
    assert Student.objects.count() == count
