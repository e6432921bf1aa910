"""The test factories build real, consistent records through the services."""

from stdnum.cn import ric

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.orgs.models import OrgUnit

from ..factories import ClassFactory, SchoolFactory, StaffFactory, StudentFactory, id_number


def test_id_numbers_are_valid_and_distinct():
    numbers = {id_number(n) for n in range(50)}
    assert len(numbers) == 50
    assert all(ric.is_valid(n) for n in numbers)


def test_a_student_gets_a_whole_parent_chain_under_one_city(db):
    first = StudentFactory()
    second = StudentFactory()
    assert first.school_class.kind == "class"
    assert first.school.kind == "school"
    assert first.school_class.path.startswith(first.school.path)
    assert OrgUnit.objects.filter(kind="city").count() == 1
    assert first.school != second.school
    assert AuditEvent.objects.filter(action="people.student.created").count() == 2


def test_records_share_a_parent_when_given_one(db):
    cls = ClassFactory()
    students = [StudentFactory(school_class=cls) for _ in range(3)]
    assert {s.school_id for s in students} == {cls.school_id}


def test_staff_get_their_role_at_their_unit(db):
    school = SchoolFactory()
    staff = StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=school)
    assert list(staff.user.role_assignments.values_list("role", "org_unit")) == [
        (Role.PSYCHOLOGY_TEACHER, school.pk)
    ]
