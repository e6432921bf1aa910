"""Personal sign-in codes: issuing, reissuing, what is stored, lookup by the keyed hash."""

from __future__ import annotations

import pytest
from django.db import connection

from xinqiao.audit.models import AuditEvent
from xinqiao.core.codes import UNAMBIGUOUS_ALPHABET
from xinqiao.core.errors import DomainError
from xinqiao.people import services
from xinqiao.people.models import Student, StudentStatus
from xinqiao.people.personal_codes import (
    format_personal_code,
    is_personal_code,
    normalise_personal_code,
    personal_code_hash,
)
from xinqiao.screening import services as screening
from xinqiao.screening.services.sittings import SITTING_ALPHABET

pytestmark = pytest.mark.django_db


def _raw_row(student: Student) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT personal_code, personal_code_hash FROM people_student WHERE id = %s",
            [student.pk],
        )
        return cursor.fetchone()


def test_codes_are_typed_in_any_case_with_or_without_the_dash():
    assert SITTING_ALPHABET == UNAMBIGUOUS_ALPHABET
    assert normalise_personal_code(" abcd-efgh ") == "ABCDEFGH"
    assert normalise_personal_code("abcd efgh") == "ABCDEFGH"
    assert format_personal_code("ABCDEFGH") == "ABCD-EFGH"
    assert is_personal_code("ABCDEFGH")
    assert not is_personal_code("ABCDEFG")  # too short
    assert not is_personal_code("ABCDEFG0")  # 0 is not in the alphabet (nor O, 1, I, L)
    assert not is_personal_code("ABCDEFGL")


def test_issue_gives_each_enrolled_student_of_the_class_a_code_once(world):
    issued = screening.issue_personal_codes(actor=world.head_teacher, school_class=world.class_a1)
    assert issued == 1
    world.stu_a1.refresh_from_db()
    code = world.stu_a1.personal_code
    assert len(code) == 8
    assert set(code) <= set(UNAMBIGUOUS_ALPHABET)
    assert world.stu_a1.personal_code_hash == personal_code_hash(code)
    event = AuditEvent.objects.get(action="people.personal_codes.issued")
    assert event.object_id == str(world.class_a1.pk)
    assert event.fields == {"students": 1}
    assert code not in str(event.fields)
    # Printing again keeps the codes: nothing more to issue, no new event.
    assert screening.issue_personal_codes(actor=world.psych, school_class=world.class_a1) == 0
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.personal_code == code
    assert AuditEvent.objects.filter(action="people.personal_codes.issued").count() == 1
    # Other classes are untouched.
    world.stu_a2.refresh_from_db()
    assert world.stu_a2.personal_code_hash == ""


def test_a_student_who_left_gets_no_code(world):
    world.stu_a1.status = StudentStatus.TRANSFERRED_OUT
    world.stu_a1.save(update_fields=["status"])
    assert screening.issue_personal_codes(actor=world.psych, school_class=world.class_a1) == 0


def test_stored_value_is_not_the_plaintext(world):
    screening.issue_personal_codes(actor=world.psych, school_class=world.class_a1)
    world.stu_a1.refresh_from_db()
    code = world.stu_a1.personal_code
    stored, stored_hash = _raw_row(world.stu_a1)
    assert code not in stored
    assert code.lower() not in stored
    assert stored.startswith("v2:aes:")  # AES-GCM, opened only through the model
    assert code not in stored_hash
    assert len(stored_hash) == 64


def test_lookup_by_the_keyed_hash(world):
    screening.issue_personal_codes(actor=world.psych, school_class=world.class_a1)
    world.stu_a1.refresh_from_db()
    code = world.stu_a1.personal_code
    typed = format_personal_code(code).lower()
    assert services.find_by_personal_code(typed) == world.stu_a1
    assert services.find_by_personal_code(typed, school_class=world.class_a1) == world.stu_a1
    assert services.find_by_personal_code(typed, school_class=world.class_a2) is None
    assert services.find_by_personal_code("ABCD-EFG") is None
    other = "".join(reversed(code)) if code != code[::-1] else "ABCDEFGH"
    assert services.find_by_personal_code(other) is None


def test_reissue_one_student_invalidates_the_old_code(world):
    screening.issue_personal_codes(actor=world.head_teacher, school_class=world.class_a1)
    world.stu_a1.refresh_from_db()
    old = world.stu_a1.personal_code
    n = screening.reissue_personal_codes(
        actor=world.head_teacher, school_class=world.class_a1, student=world.stu_a1
    )
    assert n == 1
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.personal_code != old
    assert services.find_by_personal_code(old) is None
    assert services.find_by_personal_code(world.stu_a1.personal_code) == world.stu_a1
    event = AuditEvent.objects.get(action="people.personal_code.reissued")
    assert event.object_id == str(world.stu_a1.pk)


def test_reissue_a_whole_class(world):
    screening.issue_personal_codes(actor=world.psych, school_class=world.class_a1)
    world.stu_a1.refresh_from_db()
    old = world.stu_a1.personal_code
    assert screening.reissue_personal_codes(actor=world.psych, school_class=world.class_a1) == 1
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.personal_code != old
    assert AuditEvent.objects.get(action="people.personal_codes.reissued").fields == {"students": 1}


def test_reissue_refuses_a_student_of_another_class(world):
    with pytest.raises(DomainError):
        screening.reissue_personal_codes(
            actor=world.psych, school_class=world.class_a1, student=world.stu_a2
        )


@pytest.mark.parametrize(
    "who", ["psych_b", "head_teacher_b", "mentor", "committee", "parent", "city_admin"]
)
def test_only_staff_of_the_class_with_the_capability_may_issue(world, who):
    with pytest.raises(DomainError):
        screening.issue_personal_codes(actor=getattr(world, who), school_class=world.class_a1)
    with pytest.raises(DomainError):
        screening.reissue_personal_codes(actor=getattr(world, who), school_class=world.class_a1)
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.personal_code_hash == ""


def test_school_admin_may_issue(world):
    assert (
        screening.issue_personal_codes(actor=world.school_admin, school_class=world.class_a1) == 1
    )
