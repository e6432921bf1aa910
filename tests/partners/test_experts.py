"""Experts invited to one case (issue 14, R2): a grant with a reason and an expiry, revocable,
audited, through the access layer; nothing beyond that case while it holds."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import principal_for
from xinqiao.access.services import assign_role
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.partners import services
from xinqiao.partners.models import ExpertGrant

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)


def _expert(world, username="expert2", owner=None):
    """An expert of the pool (of the city by default) with an account holding the expert role."""
    from xinqiao.workforce.services import create_expert

    owner = owner or world.city
    user = type(world.city_admin).objects.create_user(username, first_name="第二位专家")
    assign_role(actor=None, user=user, role=Role.EXPERT, org_unit=owner)
    create_expert(actor=None, owner=owner, name="第二位专家", expertise="家庭治疗", user=user)
    return user


def test_the_invited_expert_sees_the_case_and_the_read_is_audited(world, client_for):
    url = reverse("partners:expert-case", kwargs={"code": world.expert_grant.code})
    response = client_for(world.expert).get(url)
    assert response.status_code == 200
    assert world.stu_a2.name in response.content.decode()
    event = AuditEvent.objects.filter(action="partners.expert_case.viewed").order_by("-seq")[0]
    assert event.actor_id == world.expert.pk
    home = client_for(world.expert).get(reverse("partners:expert-home")).content.decode()
    assert str(world.expert_grant.code) in home


def test_the_expert_scope_is_that_one_student(world):
    principal = principal_for(_fresh(world.expert))
    students = principal.students(tier=Tier.T3, cap=Cap.VIEW_GRANTED_CASES)
    assert list(students) == [world.stu_a2]
    assert principal.students(tier=Tier.T1).count() == 0  # no staff search


def test_the_expert_reaches_nothing_else(world, client_for):
    client = client_for(world.expert)
    for student in (world.stu_a1, world.stu_a2, world.stu_b1):
        url = reverse("people:student-detail", kwargs={"code": student.code})
        assert client.get(url).status_code == 403
    assert client.get(reverse("people:student-list")).status_code == 403
    url = reverse("cases:case-detail", kwargs={"code": world.case_a2.code})
    assert client.get(url).status_code == 403
    url = reverse("alerts:alert-detail", kwargs={"code": world.alert_a1.code})
    assert client.get(url).status_code in (403, 404)


def test_another_expert_gets_404(world, client_for):
    other = _expert(world)
    url = reverse("partners:expert-case", kwargs={"code": world.expert_grant.code})
    assert client_for(other).get(url).status_code == 404


def test_an_expired_or_revoked_grant_ends_access(world, client_for):
    url = reverse("partners:expert-case", kwargs={"code": world.expert_grant.code})
    ExpertGrant.objects.filter(pk=world.expert_grant.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client_for(world.expert).get(url).status_code == 404
    principal = principal_for(_fresh(world.expert))
    assert principal.students(tier=Tier.T3, cap=Cap.VIEW_GRANTED_CASES).count() == 0


def test_the_owner_revokes_an_invitation(world, client_for):
    grant = world.expert_grant
    url = reverse(
        "partners:expert-revoke", kwargs={"code": world.case_a2.code, "grant": grant.code}
    )
    assert client_for(world.psych).post(url).status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert grant.revoked_by == world.psych
    assert AuditEvent.objects.filter(action="partners.expert_grant.revoked").count() == 1
    case_url = reverse("partners:expert-case", kwargs={"code": grant.code})
    assert client_for(world.expert).get(case_url).status_code == 404


def test_the_owner_invites_an_expert(world, client_for):
    other = _expert(world)
    url = reverse("partners:case-experts", kwargs={"code": world.case_a2.code})
    response = client_for(world.psych).post(
        url, {"expert": other.pk, "purpose": "supervision", "reason": "督导", "days": 3}
    )
    assert response.status_code == 302
    grant = ExpertGrant.objects.get(expert=other)
    assert grant.case == world.case_a2
    assert grant.reason == "督导"
    assert (grant.expires_at - grant.granted_at).days == 3
    event = (
        AuditEvent.objects.filter(action="partners.expert_grant.created").order_by("-seq").first()
    )
    assert "reason" not in event.fields
    assert event.fields["purpose"] == "supervision"


def test_only_experts_can_be_invited_for_a_limited_time(world):
    with pytest.raises(DomainError):
        services.invite_expert(
            actor=world.psych,
            case=world.case_a2,
            expert=world.head_teacher,
            purpose="conference",
            reason="x",
            days=3,
        )
    with pytest.raises(DomainError):
        services.invite_expert(
            actor=world.psych,
            case=world.case_a2,
            expert=_expert(world),
            purpose="conference",
            reason="x",
            days=90,
        )
    with pytest.raises(DomainError):  # already invited
        services.invite_expert(
            actor=world.psych,
            case=world.case_a2,
            expert=world.expert,
            purpose="conference",
            reason="x",
            days=3,
        )


def test_other_school_is_404_and_wrong_role_is_403(world, client_for):
    url = reverse("partners:case-experts", kwargs={"code": world.case_a2.code})
    assert client_for(world.psych_b).get(url).status_code == 404
    assert client_for(world.head_teacher).get(url).status_code == 403
    assert client_for(world.school_admin).get(url).status_code == 403
    assert client_for(world.expert).get(url).status_code == 403
    revoke = reverse(
        "partners:expert-revoke",
        kwargs={"code": world.case_a2.code, "grant": world.expert_grant.code},
    )
    assert client_for(world.psych_b).post(revoke).status_code == 404
    world.expert_grant.refresh_from_db()
    assert world.expert_grant.revoked_at is None


# --- case grants pick from the expert pool (workforce.Expert) -----------------------------------
def test_the_invitation_form_lists_the_pool_of_the_city_and_the_schools_district(world, client_for):
    from xinqiao.workforce.models import Expert

    district_b_expert = _expert(world, "expert_b", owner=world.district_b)
    district_a_expert = _expert(world, "expert_a", owner=world.district_a)
    unavailable = _expert(world, "expert_away")
    Expert.objects.filter(user=unavailable).update(availability="unavailable")
    # an account with the expert role but no pool record is not offered
    stray = type(world.city_admin).objects.create_user("stray_expert", first_name="无库专家")
    assign_role(actor=None, user=stray, role=Role.EXPERT, org_unit=world.city)
    url = reverse("partners:case-experts", kwargs={"code": world.case_a2.code})
    form = client_for(world.psych).get(url).context["form"]
    offered = set(form.fields["expert"].queryset)
    assert offered == {world.expert, district_a_expert}
    label = form.fields["expert"].label_from_instance(world.expert)
    assert "危机干预" in label
    for user in (district_b_expert, unavailable, stray):
        with pytest.raises(DomainError):
            services.invite_expert(
                actor=world.psych,
                case=world.case_a2,
                expert=user,
                purpose="conference",
                reason="x",
                days=3,
            )
    response = client_for(world.psych).post(
        url,
        {"expert": district_b_expert.pk, "purpose": "conference", "reason": "x", "days": 3},
    )
    assert response.status_code == 400
    assert not ExpertGrant.objects.filter(expert=district_b_expert).exists()


def test_an_expert_who_left_the_pool_is_not_offered(world, client_for):
    from xinqiao.workforce.models import Expert

    Expert.objects.filter(user=world.expert).update(is_active=False)
    url = reverse("partners:case-experts", kwargs={"code": world.case_a2.code})
    form = client_for(world.psych).get(url).context["form"]
    assert world.expert not in set(form.fields["expert"].queryset)
