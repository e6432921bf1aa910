"""The demo parent (docs/demo.md): their child's class screening asks for guardian consent, and
the school's message about it waits unread; the parent's pages show both."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.scope import principal_for
from xinqiao.demo.family import DEMO_PARENT, seed_demo_family
from xinqiao.demo.generator import seed_demo_city
from xinqiao.family import selectors
from xinqiao.notifications.services import dispatch_outbox
from xinqiao.screening.models import Assignment, AssignmentStatus

pytestmark = pytest.mark.django_db


def test_demo_parent_has_a_child_with_a_consent_request(client_for):
    seed_demo_city(students=400, seed=2026)
    counts = seed_demo_family()
    dispatch_outbox(now=timezone.now())  # after the commit, in the real seeding
    parent = get_user_model().objects.get(username=DEMO_PARENT)
    principal = principal_for(parent)

    overview = selectors.family_overview(principal=principal)
    assert [c.awaiting for c in overview.children] == [1]
    assert overview.unread == 1
    child = overview.children[0].student
    (request,) = overview.children[0].requests
    assert request.campaign.needs_guardian_consent
    # Every student of the class waits for consent; only the class is covered.
    assignments = Assignment.objects.filter(campaign=request.campaign)
    assert counts["consent_assignments"] == assignments.count()
    assert set(assignments.values_list("status", flat=True)) == {AssignmentStatus.NO_CONSENT}
    assert set(assignments.values_list("school_class", flat=True)) == {child.school_class_id}

    page = client_for(parent).get(reverse("family:child-detail", args=[child.code]))
    assert request.campaign.name in page.content.decode()
