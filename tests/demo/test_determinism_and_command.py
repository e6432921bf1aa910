"""Same seed → same city; the `seed_demo` command and its --if-empty switch."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.demo.generator import DEMO_PASSWORD, seed_demo_city
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Guardian, Staff, Student

SMALL = 250


class _Rollback(Exception):
    pass


def _snapshot():
    # The number and phones are encrypted (a new nonce each run): compared decrypted.
    return {
        "students": sorted(
            (
                s.student_number,
                s.name,
                s.gender,
                s.birth_date,
                s.code,
                s.school_class.name,
                s.school.name,
                s.left_behind,
                s.migrant,
            )
            for s in Student.objects.select_related("school_class", "school")
        ),
        "guardians": sorted(
            (g.student.student_number, g.name, g.relation, g.phone, g.code)
            for g in Guardian.objects.select_related("student")
        ),
        "units": list(OrgUnit.objects.order_by("code").values_list("code", "kind", "name")),
        "staff": [
            (st.user.username, st.name, st.phone, st.code)
            for st in Staff.objects.select_related("user").order_by("user__username")
        ],
        "users": sorted(get_user_model().objects.values_list("username", "first_name")),
    }


def _seed_and_snapshot(**kwargs):
    """Seed into the empty test database, take a snapshot, roll everything back."""
    snapshot = None
    try:
        with transaction.atomic():
            seed_demo_city(**kwargs)
            snapshot = _snapshot()
            raise _Rollback
    except _Rollback:
        pass
    assert not OrgUnit.objects.exists()
    return snapshot


@pytest.mark.django_db
def test_same_seed_gives_the_same_city():
    # Ids differ between the runs (sequences are not rolled back); the data must not.
    first = _seed_and_snapshot(students=SMALL, seed=11)
    second = _seed_and_snapshot(students=SMALL, seed=11)
    assert len(first["students"]) == SMALL
    assert first == second


@pytest.mark.django_db
def test_another_seed_gives_another_city():
    first = _seed_and_snapshot(students=SMALL, seed=11)
    other = _seed_and_snapshot(students=SMALL, seed=12)
    assert [s[1] for s in first["students"]] != [s[1] for s in other["students"]]
    assert {s[0] for s in first["students"]} != {s[0] for s in other["students"]}


@pytest.mark.django_db
def test_too_few_students_is_a_clear_error():
    with pytest.raises(CommandError, match="at least"):
        call_command("seed_demo", "--students", "20", stdout=io.StringIO())
    assert not OrgUnit.objects.exists()


@pytest.mark.django_db
def test_command_loads_the_city_and_prints_one_login_per_role():
    out = io.StringIO()
    call_command("seed_demo", "--students", str(SMALL), "--seed", "3", stdout=out)
    text = out.getvalue()
    assert Student.objects.count() == SMALL
    assert DEMO_PASSWORD in text
    for role in Role.values:
        assert f" {role} " in text, role
    for username in ("demo_city_admin", "demo_head_mhyc_7_1", "demo_psych_mhyc_1"):
        assert username in text


@pytest.mark.django_db
def test_if_empty_does_nothing_on_a_loaded_database():
    call_command("seed_demo", "--students", str(SMALL), stdout=io.StringIO())
    events, units = AuditEvent.objects.count(), OrgUnit.objects.count()
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "already has data" in out.getvalue()
    # A second `make run` still shows how to log in.
    assert "demo_head_mhyc_7_1" in out.getvalue()
    assert DEMO_PASSWORD in out.getvalue()
    assert (AuditEvent.objects.count(), OrgUnit.objects.count()) == (events, units)
    with pytest.raises(CommandError, match="already has an org tree"):
        call_command("seed_demo", "--students", str(SMALL), stdout=io.StringIO())


@pytest.mark.django_db
def test_if_empty_loads_an_empty_database():
    call_command("seed_demo", "--if-empty", "--students", str(SMALL), stdout=io.StringIO())
    assert Student.objects.count() == SMALL
