"""The family pages' world: school A's open campaign asking for guardian consent (besides the
world's statutory one), and a second family (李小红's father, 李小红 in class A2) whose child the
first parent must never see; school B's parent sees neither."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.factories import PASSWORD
from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role
from xinqiao.people.models import GuardianRelation
from xinqiao.people.services import add_guardian
from xinqiao.screening import services as screening_services
from xinqiao.screening.models import Assignment, ConsentBasis


def _parent(username, student, name, school):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    add_guardian(
        actor=None,
        student=student,
        relation=GuardianRelation.FATHER,
        name=name,
        phone="13900139000",
        is_primary=False,
        user=user,
    )
    assign_role(actor=None, user=user, role=Role.PARENT, org_unit=school)
    return user


@pytest.fixture
def family(world):
    f = SimpleNamespace(world=world)
    now = timezone.now()
    f.campaign = screening_services.create_campaign(
        actor=world.psych,
        name="甲校七年级心理健康筛查（需家长同意）",
        term=world.term,
        kind="term_start",
        owner_unit=world.school_a,
        units=[world.school_a],
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(days=10),
        consent_basis=ConsentBasis.GUARDIAN_CONSENT,
    )
    screening_services.open_campaign(actor=world.psych, campaign=f.campaign)
    f.campaign.refresh_from_db()
    f.assignment_a1 = Assignment.objects.get(
        campaign=f.campaign, student=world.stu_a1, resit_of__isnull=True
    )
    f.other_parent = _parent("parent_a2", world.stu_a2, "李爸爸", world.school_a)
    f.parent_b = _parent("parent_b1", world.stu_b1, "赵爸爸", world.school_b)
    return f
