"""The family selectors read a parent's own children only, through the access layer."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.utils import timezone

from xinqiao.access.scope import principal_for
from xinqiao.core.home import panels_for
from xinqiao.family import selectors
from xinqiao.screening.services import answer_consent_as_guardian


def _names(qs):
    return [s.name for s in qs]


def test_each_parent_sees_only_their_own_child(family):
    w = family.world
    assert _names(selectors.list_children(principal=principal_for(w.parent))) == ["王小明"]
    assert _names(selectors.list_children(principal=principal_for(family.other_parent))) == [
        "李小红"
    ]
    assert _names(selectors.list_children(principal=principal_for(family.parent_b))) == ["赵小刚"]


@pytest.mark.parametrize("who", ["psych", "head_teacher", "city_admin", "committee"])
def test_staff_and_students_have_no_children_here(family, who):
    principal = principal_for(getattr(family.world, who))
    assert _names(selectors.list_children(principal=principal)) == []


def test_guardian_link_without_the_role_at_that_school_shows_nothing(family):
    # 赵小刚's father holds the parent role at school B only; linked as guardian of a school-A
    # child too, he still sees only his school-B child.
    from xinqiao.people.services import add_guardian

    w = family.world
    add_guardian(
        actor=None,
        student=w.stu_a2,
        relation="relative",
        name="赵叔叔",
        phone="13700137000",
        user=family.parent_b,
    )
    assert _names(selectors.list_children(principal=principal_for(family.parent_b))) == ["赵小刚"]


def test_get_child_of_another_family_is_404(family):
    w = family.world
    with pytest.raises(Http404):
        selectors.get_child(principal=principal_for(family.other_parent), code=w.stu_a1.code)
    assert selectors.get_child(principal=principal_for(w.parent), code=w.stu_a1.code) == w.stu_a1


def test_consent_requests_list_guardian_consent_campaigns_only(family):
    w = family.world
    principal = principal_for(w.parent)
    requests = selectors.consent_requests(principal=principal, children=[w.stu_a1])
    # The world's own campaign rests on the statutory duty: it asks no consent.
    assert [(r.campaign.pk, r.awaiting, r.granted) for r in requests] == [
        (family.campaign.pk, True, None)
    ]
    answer_consent_as_guardian(
        actor=w.parent, campaign=family.campaign, student=w.stu_a1, granted=False
    )
    (req,) = selectors.consent_requests(principal=principal, children=[w.stu_a1])
    assert (req.awaiting, req.granted, req.answered_by_me, req.can_answer) == (
        False,
        False,
        True,
        True,
    )


def test_consent_requests_never_include_another_familys_child(family):
    w = family.world
    requests = selectors.consent_requests(
        principal=principal_for(family.other_parent), children=[w.stu_a1]
    )
    assert requests == []


def test_overview_counts_awaiting_and_unread_in_bounded_queries(
    family, django_assert_max_num_queries
):
    from xinqiao.notifications.services import dispatch_outbox, notify

    w = family.world
    notify(recipients=[w.parent], kind="school.message", subject="家长会通知")
    notify(recipients=[family.other_parent], kind="school.message", subject="别人的消息")
    dispatch_outbox(now=timezone.now())
    principal = principal_for(w.parent)
    principal.roles  # noqa: B018  (the grants are read once per request, before the panel)
    with django_assert_max_num_queries(4):
        overview = selectors.family_overview(principal=principal)
    assert ([c.student.name for c in overview.children], overview.awaiting, overview.unread) == (
        ["王小明"],
        1,
        1,
    )


def test_home_panels_for_a_parent(family):
    w = family.world
    panels = {p.key: p for p in panels_for(principal_for(w.parent), timezone.now())}
    children = panels["family.children"]
    assert [r.label for r in children.rows] == ["王小明 · 甲区第一中学 七(1)班"]
    assert {c.key: c.value for c in children.counts} == {"consents": 1, "messages": 0}
    tel = [r.url for r in panels["family.help"].rows if r.url.startswith("tel:")]
    assert {"tel:12355", "tel:12356", "tel:110", "tel:120"} <= set(tel)


@pytest.mark.parametrize("who", ["psych", "head_teacher", "school_admin", "committee"])
def test_no_family_panel_for_others(family, who):
    panels = panels_for(principal_for(getattr(family.world, who)), timezone.now())
    assert not [p for p in panels if p.key.startswith("family.")]
