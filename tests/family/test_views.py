"""The parents' pages: a parent sees their own child; another family's child is 404; staff and
students are refused (403); a parent is refused the staff student search."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.screening.models import Assignment, AssignmentStatus, Consent

STAFF = [
    "psych",
    "head_teacher",
    "mentor",
    "school_admin",
    "city_admin",
    "psychiatrist",
    "committee",
]


def _child_url(student):
    return reverse("family:child-detail", args=[student.code])


def _answer_url(student, campaign):
    return reverse("family:consent-answer", args=[student.code, campaign.code])


def _prefix(campaign):
    return f"c-{campaign.code.hex[:12]}"


def _post(client, family, answer="give", note=""):
    w = family.world
    p = _prefix(family.campaign)
    return client.post(
        _answer_url(w.stu_a1, family.campaign), {f"{p}-answer": answer, f"{p}-note": note}
    )


def test_family_home_lists_own_child_and_what_awaits(family, client_for):
    response = client_for(family.world.parent).get(reverse("family:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in html
    assert "李小红" not in html
    assert 'data-testid="awaiting"' in html
    assert 'href="tel:12356"' in html


def test_child_page_shows_school_class_and_the_consent_form(family, client_for):
    w = family.world
    response = client_for(w.parent).get(_child_url(w.stu_a1))
    html = response.content.decode()
    assert response.status_code == 200
    assert "甲区第一中学 七(1)班" in html
    assert family.campaign.name in html
    assert w.campaign.name not in html  # statutory: asks no consent
    assert 'data-testid="consent-form"' in html
    assert f"?student={w.stu_a1.code}" in html  # the concern form, prefilled
    event = AuditEvent.objects.filter(action="family.child.viewed").get()
    assert (event.actor_id, event.object_id) == (w.parent.pk, str(w.stu_a1.pk))


def test_child_page_shows_no_alert_level_score_or_case(family, client_for):
    # 王小明 has an orange alert (world.alert_a1, from the committee member's concern).
    w = family.world
    html = client_for(w.parent).get(_child_url(w.stu_a1)).content.decode()
    text = re.sub(r"<[^>]+>", " ", html).lower()  # what the page says, not its links
    for word in ("orange", "alert", "level", "score", "case", "band", "他最近常说活着没意思"):
        assert word not in text


def test_another_familys_child_is_404(family, client_for):
    w = family.world
    assert client_for(family.other_parent).get(_child_url(w.stu_a1)).status_code == 404
    assert client_for(family.parent_b).get(_child_url(w.stu_a1)).status_code == 404
    assert _post(client_for(family.other_parent), family).status_code == 404
    assert not Consent.objects.filter(campaign=family.campaign).exists()


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize("name", ["family:home", "family:messages", "family:guidance"])
def test_staff_and_students_are_refused_the_family_pages(family, client_for, who, name):
    assert client_for(getattr(family.world, who)).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("who", STAFF)
def test_staff_are_refused_the_child_page_and_the_answer(family, client_for, who):
    client = client_for(getattr(family.world, who))
    assert client.get(_child_url(family.world.stu_a1)).status_code == 403
    assert _post(client, family).status_code == 403


def test_anonymous_goes_to_sign_in(family, client):
    response = client.get(reverse("family:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_parent_is_refused_the_staff_student_search(family, client_for):
    client = client_for(family.world.parent)
    assert client.get(reverse("people:student-list")).status_code == 403
    assert (
        client.get(reverse("people:student-detail", args=[family.world.stu_a1.code])).status_code
        == 403
    )


def test_give_consent_through_the_page(family, client_for):
    w = family.world
    response = _post(client_for(w.parent), family, "give", "孩子愿意参加")
    assert response.status_code == 302
    assert response["Location"] == _child_url(w.stu_a1)
    consent = Consent.objects.get(campaign=family.campaign, student=w.stu_a1)
    assert (consent.granted, consent.recorded_by_id, consent.note) == (
        True,
        w.parent.pk,
        "孩子愿意参加",
    )
    status = Assignment.objects.get(pk=family.assignment_a1.pk).status
    assert status == AssignmentStatus.ASSIGNED


def test_double_click_records_once(family, client_for):
    client = client_for(family.world.parent)
    _post(client, family, "refuse")
    _post(client, family, "refuse")
    assert Consent.objects.filter(campaign=family.campaign).count() == 1
    assert AuditEvent.objects.filter(action="screening.consent.answered").count() == 1


def test_missing_answer_shows_the_error(family, client_for):
    response = _post(client_for(family.world.parent), family, answer="")
    assert response.status_code == 400
    assert 'data-error-for="answer"' in response.content.decode()
    assert not Consent.objects.filter(campaign=family.campaign).exists()


def test_once_begun_the_form_is_gone_and_a_post_is_refused(family, client_for):
    w = family.world
    Assignment.objects.filter(pk=family.assignment_a1.pk).update(
        status=AssignmentStatus.STARTED, started_at=timezone.now()
    )
    client = client_for(w.parent)
    html = client.get(_child_url(w.stu_a1)).content.decode()
    assert 'data-testid="consent-form"' not in html
    response = _post(client, family, "refuse")
    assert response.status_code == 302
    assert not Consent.objects.filter(campaign=family.campaign).exists()


def test_answer_to_a_campaign_that_asks_none_is_404(family, client_for):
    w = family.world
    url = _answer_url(w.stu_a1, w.campaign)  # statutory campaign
    assert client_for(w.parent).post(url, {"answer": "refuse"}).status_code == 404


def test_get_of_the_answer_url_is_not_allowed(family, client_for):
    assert (
        client_for(family.world.parent)
        .get(_answer_url(family.world.stu_a1, family.campaign))
        .status_code
        == 405
    )


def test_school_messages_show_own_inbox_and_mark_read(family, client_for):
    from xinqiao.notifications.models import InboxMessage
    from xinqiao.notifications.services import dispatch_outbox, notify

    w = family.world
    notify(recipients=[w.parent], kind="school.message", subject="家长会通知", body="周五下午")
    notify(recipients=[family.other_parent], kind="school.message", subject="别人的消息")
    dispatch_outbox(now=timezone.now())
    client = client_for(w.parent)
    assert 'data-testid="unread"' in client.get(reverse("family:home")).content.decode()
    html = client.get(reverse("family:messages")).content.decode()
    assert "家长会通知" in html
    assert "周五下午" in html
    assert "别人的消息" not in html
    assert InboxMessage.objects.get(recipient=w.parent).read_at is not None
    assert InboxMessage.objects.get(recipient=family.other_parent).read_at is None


def test_guidance_has_every_section_and_tappable_hotlines(family, client_for):
    html = client_for(family.world.parent).get(reverse("family:guidance")).content.decode()
    for key in ("signs", "listen", "crisis", "help"):
        assert f'data-guidance="{key}"' in html
    for number in ("12355", "12356", "110", "120"):
        assert f'href="tel:{number}"' in html


def test_navigation_for_a_parent_is_the_family_group(family, client_for):
    from xinqiao.access.scope import principal_for
    from xinqiao.core.navigation import Navigation

    nav = Navigation(principal_for(family.world.parent))
    assert [g["key"] for g in nav.groups] == ["family"]
    assert [i["url_name"] for i in nav.items] == [
        "home",
        "family:home",
        "family:messages",
        "family:guidance",
    ]


def test_a_teacher_who_is_also_a_parent_keeps_the_staff_entries(family):
    from xinqiao.access.roles import Role
    from xinqiao.access.scope import principal_for
    from xinqiao.access.services import assign_role
    from xinqiao.core.navigation import Navigation
    from xinqiao.people.services import add_guardian

    w = family.world
    add_guardian(
        actor=None,
        student=w.stu_a2,
        relation="mother",
        name="李妈妈",
        phone="13600136000",
        user=w.head_teacher,
    )
    assign_role(actor=None, user=w.head_teacher, role=Role.PARENT, org_unit=w.school_a)
    names = [i["url_name"] for i in Navigation(principal_for(w.head_teacher)).items]
    assert {"notifications:inbox", "alerts:concern-create", "family:home"} <= set(names)


def test_concern_form_prefilled_for_own_child_only(family, client_for):
    w = family.world
    url = reverse("alerts:concern-create")
    chosen = f'value="{w.stu_a1.code}" checked'
    html = client_for(w.parent).get(f"{url}?student={w.stu_a1.code}").content.decode()
    assert chosen in html
    other = client_for(family.other_parent).get(f"{url}?student={w.stu_a1.code}").content.decode()
    assert f'value="{w.stu_a1.code}"' not in other  # not theirs: nothing chosen, no row
