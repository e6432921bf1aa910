"""Who holds a role at a unit (`access.holders`): the people alerts and cases notify."""

import pytest

from tests.conftest import _user
from xinqiao.access import holders
from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role, revoke_role, set_account_active
from xinqiao.orgs.services import create_unit

pytestmark = pytest.mark.django_db


def names(users):
    return [u.username for u in users]


def test_the_right_people_for_a_school(world):
    assert names(holders.psychology_teachers(world.school_a.pk)) == ["psych_a"]
    assert names(holders.psychology_teachers(world.school_b.pk)) == ["psych_b"]
    assert names(holders.moral_education_leaders(world.school_a.pk)) == ["school_admin_a"]
    assert holders.moral_education_leaders(world.school_b.pk) == []
    assert names(holders.district_admins(world.school_a.pk)) == ["district_admin_a"]
    assert holders.owner_for_school(world.school_a.pk) == world.psych
    assert holders.owner_for_school(world.school_b.pk) == world.psych_b


def test_a_station_covers_the_schools_of_its_district_only(world):
    assert names(holders.station_counsellors(world.school_a.pk)) == ["station_counsellor_a"]
    assert holders.station_counsellors(world.school_b.pk) == []  # district B has no station
    station_b = create_unit(actor=None, parent=world.district_b, kind="station", name="乙区辅导站")
    _user("station_counsellor_b", "乙区辅导员", station_b, Role.STATION_COUNSELLOR)
    assert names(holders.station_counsellors(world.school_b.pk)) == ["station_counsellor_b"]
    assert names(holders.station_counsellors(world.school_a.pk)) == ["station_counsellor_a"]


def test_roles_at_other_units_or_of_another_kind_do_not_count(world):
    # The head teacher works at school A but holds no psychology-teacher role there; the
    # district administrator's role is at the district, not at the school.
    assert world.head_teacher not in holders.psychology_teachers(world.school_a.pk)
    assert holders.users_with_role(Role.DISTRICT_ADMIN, [world.school_a]) == []
    assert holders.psychology_teachers(world.district_a.pk) == []


def test_ended_roles_and_inactive_accounts_are_left_out(world):
    second = _user("psych_a2", "甲校心理老师二", world.school_a, Role.PSYCHOLOGY_TEACHER)
    assert names(holders.psychology_teachers(world.school_a.pk)) == ["psych_a", "psych_a2"]
    revoke_role(
        actor=None,
        assignment=RoleAssignment.objects.get(user=world.psych, role=Role.PSYCHOLOGY_TEACHER),
    )
    assert holders.psychology_teachers(world.school_a.pk) == [second]
    assert holders.owner_for_school(world.school_a.pk) == second
    set_account_active(actor=None, user=second, active=False)
    assert holders.psychology_teachers(world.school_a.pk) == []
    assert holders.owner_for_school(world.school_a.pk) is None


def test_a_user_with_the_role_at_two_units_is_listed_once(world):
    assign_role(actor=None, user=world.psych, role=Role.PSYCHOLOGY_TEACHER, org_unit=world.school_b)
    both = holders.users_with_role(Role.PSYCHOLOGY_TEACHER, [world.school_a, world.school_b.pk])
    assert names(both) == ["psych_a", "psych_b"]


def test_the_batch_variant_equals_the_single_one(world):
    _user("psych_a2", "甲校心理老师二", world.school_a, Role.PSYCHOLOGY_TEACHER)
    schools = [world.school_a.pk, world.school_b.pk, world.district_a.pk]
    by_school = holders.psychology_teachers_by_school(schools)
    for school in schools:
        assert by_school.get(school, []) == holders.psychology_teachers(school)
    assert world.district_a.pk not in by_school  # nobody there: left out, not an empty list
    psychiatrists = holders.psychiatrists_by_hospital([world.hospital.pk])
    assert psychiatrists == {
        world.hospital.pk: holders.users_with_role(Role.PSYCHIATRIST, [world.hospital])
    }
    assert names(psychiatrists[world.hospital.pk]) == ["psychiatrist"]


def test_the_batch_variant_costs_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        by_school = holders.psychology_teachers_by_school([world.school_a.pk, world.school_b.pk])
        [u.staff.name for users in by_school.values() for u in users]  # staff come with it
