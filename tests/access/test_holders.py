"""Who holds a role at a unit (`access.holders`): the people alerts and cases notify."""

import pytest

from tests.conftest import _user
from xinqiao.access import holders
from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role, revoke_role, set_account_active
from xinqiao.orgs.services import create_unit

from ..factories import ALL_PERSONAS, two_schools, with_personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    """Two schools and every one of the world's personas, so a holder query that reached a role
    at another unit or of another kind would list someone it should not."""
    return with_personas(two_schools(), *ALL_PERSONAS)


def names(users):
    return [u.username for u in users]


def test_the_right_people_for_a_school(people):
    assert names(holders.psychology_teachers(people.school_a.pk)) == ["psych_a"]
    assert names(holders.psychology_teachers(people.school_b.pk)) == ["psych_b"]
    assert names(holders.moral_education_leaders(people.school_a.pk)) == ["school_admin_a"]
    assert holders.moral_education_leaders(people.school_b.pk) == []
    assert names(holders.district_admins(people.school_a.pk)) == ["district_admin_a"]
    assert holders.owner_for_school(people.school_a.pk) == people.psych
    assert holders.owner_for_school(people.school_b.pk) == people.psych_b


def test_a_station_covers_the_schools_of_its_district_only(people):
    assert names(holders.station_counsellors(people.school_a.pk)) == ["station_counsellor_a"]
    assert holders.station_counsellors(people.school_b.pk) == []  # district B has no station
    station_b = create_unit(actor=None, parent=people.district_b, kind="station", name="乙区辅导站")
    _user("station_counsellor_b", "乙区辅导员", station_b, Role.STATION_COUNSELLOR)
    assert names(holders.station_counsellors(people.school_b.pk)) == ["station_counsellor_b"]
    assert names(holders.station_counsellors(people.school_a.pk)) == ["station_counsellor_a"]


def test_roles_at_other_units_or_of_another_kind_do_not_count(people):
    # The head teacher works at school A but holds no psychology-teacher role there; the
    # district administrator's role is at the district, not at the school.
    assert people.head_teacher not in holders.psychology_teachers(people.school_a.pk)
    assert holders.users_with_role(Role.DISTRICT_ADMIN, [people.school_a]) == []
    assert holders.psychology_teachers(people.district_a.pk) == []


def test_ended_roles_and_inactive_accounts_are_left_out(people):
    second = _user("psych_a2", "甲校心理老师二", people.school_a, Role.PSYCHOLOGY_TEACHER)
    assert names(holders.psychology_teachers(people.school_a.pk)) == ["psych_a", "psych_a2"]
    revoke_role(
        actor=None,
        assignment=RoleAssignment.objects.get(user=people.psych, role=Role.PSYCHOLOGY_TEACHER),
    )
    assert holders.psychology_teachers(people.school_a.pk) == [second]
    assert holders.owner_for_school(people.school_a.pk) == second
    set_account_active(actor=None, user=second, active=False)
    assert holders.psychology_teachers(people.school_a.pk) == []
    assert holders.owner_for_school(people.school_a.pk) is None


def test_a_user_with_the_role_at_two_units_is_listed_once(people):
    assign_role(
        actor=None, user=people.psych, role=Role.PSYCHOLOGY_TEACHER, org_unit=people.school_b
    )
    both = holders.users_with_role(Role.PSYCHOLOGY_TEACHER, [people.school_a, people.school_b.pk])
    assert names(both) == ["psych_a", "psych_b"]


def test_the_batch_variant_equals_the_single_one(people):
    _user("psych_a2", "甲校心理老师二", people.school_a, Role.PSYCHOLOGY_TEACHER)
    schools = [people.school_a.pk, people.school_b.pk, people.district_a.pk]
    by_school = holders.psychology_teachers_by_school(schools)
    for school in schools:
        assert by_school.get(school, []) == holders.psychology_teachers(school)
    assert people.district_a.pk not in by_school  # nobody there: left out, not an empty list
    psychiatrists = holders.psychiatrists_by_hospital([people.hospital.pk])
    assert psychiatrists == {
        people.hospital.pk: holders.users_with_role(Role.PSYCHIATRIST, [people.hospital])
    }
    assert names(psychiatrists[people.hospital.pk]) == ["psychiatrist"]


def test_the_batch_variant_costs_one_query(people, django_assert_num_queries):
    with django_assert_num_queries(1):
        by_school = holders.psychology_teachers_by_school([people.school_a.pk, people.school_b.pk])
        [u.staff.name for users in by_school.values() for u in users]  # staff come with it
