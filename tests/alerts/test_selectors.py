"""Reads of the alerts app (alerts.selectors) per role: which alerts, in which order, whose
evidence, which students a concern may be about, whose concerns and rule sets."""

from __future__ import annotations

import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tests.factories import StudentFactory
from xinqiao.access.scope import principal_for
from xinqiao.alerts import selectors
from xinqiao.alerts.rules import default_source
from xinqiao.alerts.services import acknowledge_alert, file_concern, save_ruleset, verify_alert
from xinqiao.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=SH)


def alerts_of(world, role_attr, **kwargs):
    return list(selectors.list_alerts(principal=principal_for(getattr(world, role_attr)), **kwargs))


def concern(world, student, urgency, at, actor=None):
    with time_machine.travel(at, tick=False):
        return file_concern(
            actor=actor or world.psych,
            student=student,
            what_seen="说不想活了",
            seen_on=at.date(),
            urgency=urgency,
        )


@pytest.mark.parametrize(
    ("role_attr", "sees"),
    [
        ("psych", True),
        ("school_admin", True),
        ("station_counsellor", True),
        ("district_admin", False),
        ("head_teacher", False),
        ("psych_b", False),
    ],
)
def test_who_sees_the_alerts_of_school_a(world, role_attr, sees):
    assert alerts_of(world, role_attr) == ([world.alert_a1] if sees else [])


def test_a_verified_alert_leaves_the_open_list_but_not_the_history(world):
    verify_alert(world.alert_a1, actor=world.psych, outcome="dismissed", reason="误会，已核实")
    assert alerts_of(world, "psych") == []
    assert alerts_of(world, "psych", open_only=False) == [world.alert_a1]


def test_the_worklist_puts_a_new_red_alert_by_its_acknowledge_deadline(world):
    third = StudentFactory(school_class=world.class_a2, term=world.term)
    first_red = concern(world, world.stu_a2, "plan", MONDAY_9).alert
    with time_machine.travel(MONDAY_9 + datetime.timedelta(minutes=5), tick=False):
        acknowledge_alert(first_red, actor=world.psych)
    second_red = concern(world, third, "plan", MONDAY_9 + datetime.timedelta(hours=1)).alert
    assert first_red.verify_by == second_red.verify_by  # the end of the same school day
    principal = principal_for(world.psych)
    # the list orders by verify-by; the worklist by what is due next: the new one's acknowledgement
    assert list(selectors.list_alerts(principal=principal)) == [
        first_red,
        second_red,
        world.alert_a1,
    ]
    assert selectors.worklist(principal=principal) == [second_red, first_red, world.alert_a1]


def test_get_alert_is_404_outside_the_scope_and_for_an_unknown_code(world):
    code = world.alert_a1.code
    assert selectors.get_alert(principal=principal_for(world.station_counsellor), code=code)
    for user in (world.psych_b, world.head_teacher, world.district_admin):
        with pytest.raises(Http404):
            selectors.get_alert(principal=principal_for(user), code=code)
    with pytest.raises(Http404):
        selectors.get_alert(principal=principal_for(world.psych), code=uuid.uuid4())


def test_evidence_is_for_the_schools_psychology_teachers_and_the_district_station(world):
    alert = world.alert_a1
    readers = {
        attr
        for attr in ("psych", "station_counsellor", "school_admin", "psych_b", "city_admin")
        if selectors.can_read_evidence(principal_for(getattr(world, attr)), alert)
    }
    assert readers == {"psych", "station_counsellor"}


def test_reading_the_evidence_is_audited_and_a_refusal_records_nothing(world):
    alert = world.alert_a1
    with pytest.raises(PermissionDenied):
        selectors.alert_evidence(principal=principal_for(world.school_admin), alert=alert)
    assert not AuditEvent.objects.filter(action="alerts.alert.evidence_viewed").exists()
    evidence = selectors.alert_evidence(
        principal=principal_for(world.station_counsellor), alert=alert
    )
    assert [c.what_seen for c in evidence["concerns"]] == ["他最近常说活着没意思"]
    assert [t.rule for t in evidence["triggers"]] == ["concern.soon"]
    event = AuditEvent.objects.get(action="alerts.alert.evidence_viewed")
    assert event.actor_id == world.station_counsellor.pk
    assert f"student:{world.stu_a1.code}" in event.fields["read"]


@pytest.mark.parametrize(
    ("role_attr", "expected"),
    [
        ("head_teacher", {"stu_a1"}),
        ("parent", {"stu_a1"}),
        ("psych", {"stu_a1", "stu_a2"}),
        ("psych_b", {"stu_b1"}),
    ],
)
def test_concern_students_are_the_reporters_class_school_or_children(world, role_attr, expected):
    students = set(selectors.concern_students(principal=principal_for(getattr(world, role_attr))))
    assert students == {getattr(world, attr) for attr in expected}


def test_my_concerns_are_my_own_newest_first(world):
    later = concern(world, world.stu_a1, "watch", MONDAY_9 + datetime.timedelta(days=1))
    earlier = concern(world, world.stu_a2, "watch", MONDAY_9)
    assert list(selectors.my_concerns(principal=principal_for(world.psych))) == [later, earlier]
    assert list(selectors.my_concerns(principal=principal_for(world.committee))) == [
        world.concern_a1
    ]
    assert list(selectors.my_concerns(principal=principal_for(world.head_teacher))) == []


def test_rule_sets_are_listed_for_the_city_and_districts_in_the_users_area(world):
    source = default_source()
    city_rules = save_ruleset(actor=world.city_admin, unit=world.city, stage="", source=source)
    a_rules = save_ruleset(
        actor=world.district_admin, unit=world.district_a, stage="junior", source=source
    )
    b_rules = save_ruleset(actor=world.city_admin, unit=world.district_b, stage="", source=source)
    city = principal_for(world.city_admin)
    district = principal_for(world.district_admin)
    assert set(selectors.rule_units(principal=city)) == {
        world.city,
        world.district_a,
        world.district_b,
    }
    assert list(selectors.rule_units(principal=district)) == [world.district_a]
    assert set(selectors.list_rulesets(principal=city)) == {city_rules, a_rules, b_rules}
    assert list(selectors.list_rulesets(principal=district)) == [a_rules]
    assert list(selectors.list_rulesets(principal=principal_for(world.psych))) == []
