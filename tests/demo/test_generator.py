"""The demo city: shape, counts, logins for every role, committee members, paths, audit chain."""

from __future__ import annotations

import collections
import math

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import connection, transaction
from django.test import override_settings

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import ROLE_UNIT_KINDS, Cap, Role
from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.audit.services import verify_chain
from xinqiao.core.crypto import keyed_hash
from xinqiao.demo.generator import (
    COMMITTEE_STAGES,
    DEMO_PASSWORD,
    STAGE_LEVELS,
    gb11643_check_digit,
    seed_demo_city,
)
from xinqiao.orgs.models import DistrictKind, Kind, OrgUnit, Stage, Term, path_segment
from xinqiao.people.models import (
    CommitteeMember,
    Enrolment,
    Gender,
    GroupKind,
    Guardian,
    Position,
    SchoolGroup,
    Staff,
    StaffPosition,
    Student,
)
from xinqiao.people.validators import validate_id_number, validate_mobile, validate_student_number

N_STUDENTS = 400


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One small demo city for the whole module, rolled back at the end."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        city = seed_demo_city(students=N_STUDENTS, seed=7)
        yield city
        transaction.set_rollback(True)


def test_gb11643_check_digit_matches_known_numbers():
    assert gb11643_check_digit("36010220130101001") == "X"
    assert gb11643_check_digit("36010220130202002") == "5"
    assert gb11643_check_digit("36042619910101007") == "1"


def test_gb11643_check_digit_rejects_wrong_length():
    with pytest.raises(ValueError, match="17 digits"):
        gb11643_check_digit("3601022013010100")


def test_student_count_is_as_asked(demo, db):
    assert Student.objects.count() == N_STUDENTS
    assert demo.counts["students"] == N_STUDENTS
    assert sum(
        OrgUnit.objects.filter(kind=Kind.SCHOOL).values_list("student_count", flat=True)
    ) == (N_STUDENTS)


def test_city_has_districts_zone_centre_stations_hospitals(demo, db):
    city = OrgUnit.objects.get(kind=Kind.CITY)
    assert city.name == "示例市"
    districts = list(OrgUnit.objects.filter(kind=Kind.DISTRICT))
    kinds = collections.Counter(d.district_kind for d in districts)
    assert kinds[DistrictKind.DEVELOPMENT_ZONE] == 1
    assert len(districts) == 4
    assert (
        OrgUnit.objects.filter(kind=Kind.CENTRE, name__contains="未成年人心理健康辅导中心").count()
        == 1
    )
    for district in districts:
        assert OrgUnit.objects.filter(kind=Kind.STATION, parent=district).count() == 1
    assert 1 <= OrgUnit.objects.filter(kind=Kind.HOSPITAL).count() <= 2


def test_schools_cover_every_stage_with_matching_grades(demo, db):
    schools = OrgUnit.objects.filter(kind=Kind.SCHOOL)
    assert schools.count() >= 12
    assert {s.stage for s in schools} == set(Stage.values)
    assert schools.filter(township_central=True, stage=Stage.PRIMARY).count() >= 1
    for school in schools:
        levels = sorted(
            OrgUnit.objects.filter(kind=Kind.GRADE, parent=school).values_list(
                "grade_level", flat=True
            )
        )
        assert levels == list(STAGE_LEVELS[school.stage]), school.name
        for grade in OrgUnit.objects.filter(kind=Kind.GRADE, parent=school):
            assert OrgUnit.objects.filter(kind=Kind.CLASS, parent=grade).exists(), grade
    assert len(set(schools.values_list("school_code", flat=True))) == schools.count()


def test_every_class_has_students(demo, db):
    classes = OrgUnit.objects.filter(kind=Kind.CLASS)
    with_students = set(Student.objects.values_list("school_class", flat=True))
    assert set(classes.values_list("pk", flat=True)) == with_students


def test_terms_are_current_autumn_and_previous_spring(demo, db):
    current = Term.objects.current()
    assert current is not None
    assert (current.code, str(current.start_date), str(current.end_date)) == (
        "2026-2027-1",
        "2026-09-01",
        "2027-01-22",
    )
    previous = Term.objects.get(code="2025-2026-2")
    assert previous.season == "spring"
    assert previous.end_date < current.start_date


def test_enrolments_cover_current_term_and_continuing_students(demo, db):
    current = Term.objects.current()
    previous = Term.objects.get(code="2025-2026-2")
    assert Enrolment.objects.filter(term=current).count() == N_STUDENTS
    mismatched = Enrolment.objects.filter(term=current).exclude(
        school_class=models_f("student__school_class")
    )
    assert not mismatched.exists()
    # Students beyond their school's first grade were in the same cohort class last spring.
    continuing = Enrolment.objects.filter(term=previous)
    assert continuing.exists()
    first_grades = {
        s.pk: min(STAGE_LEVELS[s.stage]) for s in OrgUnit.objects.filter(kind=Kind.SCHOOL)
    }
    for e in continuing.select_related("school_class__parent", "student"):
        assert e.school_class_id == e.student.school_class_id
        assert e.school_class.parent.grade_level > first_grades[e.school_id]


def models_f(name):
    from django.db.models import F

    return F(name)


def test_generated_numbers_are_valid_and_ids_are_encrypted(demo, db):
    students = list(Student.objects.all())
    assert len({s.student_number for s in students}) == len(students)
    for s in students:
        validate_student_number(s.student_number)
        validate_id_number(s.id_number)
        assert s.student_number == "G" + s.id_number
        assert s.id_number_hash == keyed_hash(s.id_number)
        assert s.id_number[6:14] == s.birth_date.strftime("%Y%m%d")
        assert int(s.id_number[16]) % 2 == (1 if s.gender == Gender.MALE else 0)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id_number, student_number FROM {Student._meta.db_table}")  # noqa: S608
        raw = [value for row in cursor.fetchall() for value in row]
    assert all(value.startswith("v2:aes:") for value in raw)
    assert not any(s.id_number in value for s in students[:50] for value in raw)


def test_guardians_one_or_two_with_valid_mobiles(demo, db):
    per_student = collections.Counter(Guardian.objects.values_list("student", flat=True))
    assert set(per_student) == set(Student.objects.values_list("pk", flat=True))
    assert set(per_student.values()) <= {1, 2}
    for guardian in Guardian.objects.all():
        validate_mobile(guardian.phone)  # decrypted on read
    assert Guardian.objects.filter(is_primary=True).count() == N_STUDENTS


def test_family_flags_are_present_at_low_rates(demo, db):
    total = Student.objects.count()
    for flag in ("left_behind", "single_parent", "low_income", "migrant"):
        share = Student.objects.filter(**{flag: True}).count() / total
        assert 0 < share < 0.3, flag
    special = Student.objects.filter(school__stage=Stage.SPECIAL)
    assert special.exists()
    assert not special.filter(disability=False).exists()


def test_every_role_has_a_demo_login(demo, db):
    user_model = get_user_model()
    assert {login.role for login in demo.logins} == set(Role.values)
    for login in demo.logins:
        user = user_model.objects.get(username=login.username)
        assert user.check_password(DEMO_PASSWORD)
        assignment = RoleAssignment.objects.get(user=user, role=login.role)
        assert assignment.org_unit.kind in ROLE_UNIT_KINDS[login.role]
        assert assignment.org_unit.display_path() == login.unit


def test_every_role_is_assigned_at_an_allowed_unit(demo, db):
    assignments = RoleAssignment.objects.select_related("org_unit")
    assert {a.role for a in assignments} == set(Role.values)
    for a in assignments:
        assert a.org_unit.kind in ROLE_UNIT_KINDS[a.role], (a.role, a.org_unit.kind)


def test_demo_password_satisfies_the_password_rules(demo, db):
    user = get_user_model().objects.get(username="demo_city_admin")
    validate_password(DEMO_PASSWORD, user)


def test_staff_for_every_position(demo, db):
    # No school reaches 800 students in this small city, so no full-time psychology teacher yet
    # (test_psychology_teachers_about_one_per_800_students covers the rule).
    assert set(StaffPosition.objects.values_list("position", flat=True)) == set(Position.values) - {
        Position.PSYCHOLOGY_TEACHER_FULL
    }
    for cls in OrgUnit.objects.filter(kind=Kind.CLASS):
        assert RoleAssignment.objects.filter(role=Role.HEAD_TEACHER, org_unit=cls).count() == 1
        assert RoleAssignment.objects.filter(role=Role.MENTOR, org_unit=cls).count() >= 2
    for district in OrgUnit.objects.filter(kind=Kind.DISTRICT):
        assert StaffPosition.objects.filter(
            position=Position.RESEARCH_TEACHER, org_unit=district
        ).exists()
    for station in OrgUnit.objects.filter(kind=Kind.STATION):
        assert StaffPosition.objects.filter(
            position=Position.STATION_COUNSELLOR, org_unit=station
        ).exists()


def test_psychology_teachers_about_one_per_800_students(demo, db):
    for school in OrgUnit.objects.filter(kind=Kind.SCHOOL):
        posts = StaffPosition.objects.filter(org_unit=school, position__startswith="psychology")
        assert posts.count() >= max(1, math.ceil(school.student_count / 800))
        if school.student_count > 800:
            assert posts.filter(position=Position.PSYCHOLOGY_TEACHER_FULL).exists()


def test_every_junior_and_senior_class_has_a_boy_and_a_girl_committee_member(demo, db):
    term = Term.objects.current()
    classes = OrgUnit.objects.filter(kind=Kind.CLASS, school__stage__in=COMMITTEE_STAGES)
    checked = 0
    for cls in classes:
        if cls.parent.grade_level < 7:
            continue
        genders = sorted(
            CommitteeMember.objects.filter(school_class=cls, term=term).values_list(
                "student__gender", flat=True
            )
        )
        assert genders == [Gender.FEMALE, Gender.MALE], cls.display_path()
        checked += 1
    assert checked > 0
    for member in CommitteeMember.objects.select_related("student__user"):
        assert member.student.school_class_id == member.school_class_id
        assert RoleAssignment.objects.filter(
            user=member.student.user, role=Role.COMMITTEE_MEMBER, org_unit=member.school_class
        ).exists()


def test_every_school_has_its_three_groups_with_a_leader(demo, db):
    for school in OrgUnit.objects.filter(kind=Kind.SCHOOL):
        groups = SchoolGroup.objects.filter(school=school)
        assert {g.kind for g in groups} == set(GroupKind.values)
        for group in groups:
            assert group.memberships.count() >= 2
            assert group.memberships.filter(is_leader=True).count() == 1
            assert not group.members.exclude(org_unit=school).exists()


def test_org_tree_paths_are_consistent(demo, db):
    units = {u.pk: u for u in OrgUnit.objects.all()}
    for unit in units.values():
        if unit.parent_id is None:
            assert unit.path == path_segment(unit.pk)
            assert unit.depth == 0
        else:
            parent = units[unit.parent_id]
            assert unit.path == parent.path + path_segment(unit.pk)
            assert unit.depth == parent.depth + 1
        if unit.kind in (Kind.SCHOOL, Kind.GRADE, Kind.CLASS):
            school = unit if unit.kind == Kind.SCHOOL else units[unit.school_id]
            assert school.kind == Kind.SCHOOL
            assert school.contains(unit)
    for student in Student.objects.select_related("school", "school_class"):
        assert student.school.contains(student.school_class)


def test_district_admin_sees_only_the_district(demo, db):
    user = get_user_model().objects.get(username="demo_district_admin_mh")
    district = OrgUnit.objects.get(name="明湖区")
    seen = principal_for(user).students()
    assert seen.exists()
    assert seen.count() == Student.objects.filter(school__path__startswith=district.path).count()
    assert not seen.exclude(school__path__startswith=district.path).exists()


def test_head_teacher_sees_only_the_class(demo, db):
    user = get_user_model().objects.get(username="demo_head_mhyc_7_1")
    cls = RoleAssignment.objects.get(user=user, role=Role.HEAD_TEACHER).org_unit
    seen = principal_for(user).students()
    assert set(seen.values_list("pk", flat=True)) == set(
        Student.objects.filter(school_class=cls).values_list("pk", flat=True)
    )


def test_parent_sees_own_child(demo, db):
    user = get_user_model().objects.get(username="demo_parent_mhyc")
    seen = list(principal_for(user).students(cap=Cap.VIEW_OWN_CHILDREN))
    assert len(seen) == 1
    assert Guardian.objects.filter(student=seen[0], user=user).exists()


def test_audit_chain_intact_with_one_summary_event(demo, db):
    ok, message = verify_chain()
    assert ok, message
    seeded = AuditEvent.objects.filter(action="demo.city.seeded")
    assert seeded.count() == 1
    fields = seeded.get().fields
    assert fields["students"] == N_STUDENTS
    assert fields["staff"] == Staff.objects.count()
    assert fields["guardians"] == Guardian.objects.count()
    assert fields["seed"] == 7


def test_seeding_twice_is_refused(demo, db):
    with pytest.raises(ValueError, match="already has an org tree"):
        seed_demo_city(students=N_STUDENTS, seed=7)
