"""Class committee members and the three school groups (issue 14, R5, R27): the pages, the
accounts a committee member gets, history kept with dates, the gaps."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xinqiao.access import invitations
from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.people import services
from xinqiao.people.models import (
    CommitteeMember,
    GroupKind,
    GroupRole,
    Position,
    SchoolGroupMember,
)

from ..factories import StaffFactory, StudentFactory, two_schools, with_personas

NEW_PASSWORD = "Xinqiao!Committee-2026"
CODE = re.compile(r'data-testid="slip-code">([A-Z0-9-]+)<')
USERNAME = re.compile(r'data-testid="slip-username">([a-z0-9-]+)<')


@pytest.fixture
def w(db):
    w = with_personas(two_schools(), "school_admin", "psych", "head_teacher", "mentor", "psych_b")
    w.girl_a1 = StudentFactory(school_class=w.class_a1, term=w.term, name="陈小芳", gender="F")
    return w


def committee_url(w):
    return reverse("people:committee", kwargs={"code": w.class_a1.code})


# --- committee ------------------------------------------------------------------------------
def test_head_teacher_appoints_a_committee_member_who_gets_an_account_and_a_slip(w, client_for):
    client = client_for(w.head_teacher)

    response = client.post(committee_url(w), {"student": w.stu_a1.pk})

    assert response.status_code == 200
    html = response.content.decode()
    code = CODE.search(html).group(1)
    username = USERNAME.search(html).group(1)
    w.stu_a1.refresh_from_db()
    user = w.stu_a1.user
    assert user.username == username
    assert user.first_name == ""  # no name, no contact details: a child
    assert not user.has_usable_password()
    assert RoleAssignment.objects.filter(
        user=user, role=Role.COMMITTEE_MEMBER, org_unit=w.class_a1, is_active=True
    ).exists()
    member = CommitteeMember.objects.get(student=w.stu_a1)
    assert member.end_date is None
    assert member.start_date == timezone.localdate()
    assert response["Cache-Control"] == "no-store"
    assert code not in str(list(AuditEvent.objects.values_list("fields", flat=True)))


def test_the_slip_code_sets_the_password_once(w, client_for):
    member, slip = invitations.appoint_committee_member(
        actor=w.head_teacher, student=w.stu_a1, term=w.term
    )
    redeem = reverse("account:invitation-redeem")
    form = {"code": slip.code.lower(), "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

    first = Client().post(redeem, form)
    again = Client().post(redeem, form)

    assert first.status_code == 302
    user = get_user_model().objects.get(pk=member.student.user_id)
    assert user.check_password(NEW_PASSWORD)
    assert again.status_code == 200
    assert "unknown, used or expired" in again.content.decode()


def test_a_wrong_code_is_refused(w):
    response = Client().post(
        reverse("account:invitation-redeem"),
        {"code": "AAAA-BBBB-CCCC", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "unknown, used or expired" in response.content.decode()


def test_junior_high_class_with_only_a_boy_shows_the_pair_warning(w, client_for):
    invitations.appoint_committee_member(actor=w.psych, student=w.stu_a1, term=w.term)

    response = client_for(w.psych).get(committee_url(w))

    assert response.status_code == 200
    assert 'data-testid="committee-warning"' in response.content.decode()


def test_a_boy_and_a_girl_clear_the_warning(w, client_for):
    invitations.appoint_committee_member(actor=w.psych, student=w.stu_a1, term=w.term)
    invitations.appoint_committee_member(actor=w.psych, student=w.girl_a1, term=w.term)

    response = client_for(w.psych).get(committee_url(w))

    assert 'data-testid="committee-warning"' not in response.content.decode()


def test_replacing_ends_the_old_appointment_and_its_role(w, client_for):
    boy = StudentFactory(school_class=w.class_a1, term=w.term, name="刘小军", gender="M")
    old, _slip = invitations.appoint_committee_member(
        actor=w.school_admin, student=w.stu_a1, term=w.term
    )

    response = client_for(w.school_admin).post(
        reverse("people:committee-replace", kwargs={"pk": old.pk}), {"student": boy.pk}
    )

    assert response.status_code == 200  # the successor's slip
    old.refresh_from_db()
    assert old.end_date == timezone.localdate()
    rows = CommitteeMember.objects.filter(school_class=w.class_a1, term=w.term)
    assert sorted((m.student.name, m.end_date is None) for m in rows) == [
        ("刘小军", True),
        ("王小明", False),
    ]
    assert not RoleAssignment.objects.filter(
        user=w.stu_a1.user, role=Role.COMMITTEE_MEMBER, is_active=True
    ).exists()
    page = client_for(w.school_admin).get(committee_url(w)).content.decode()
    assert 'data-testid="committee-history"' in page


def test_end_appointment_revokes_role(w, client_for):
    member, _slip = invitations.appoint_committee_member(
        actor=w.psych, student=w.stu_a1, term=w.term
    )

    response = client_for(w.psych).post(reverse("people:committee-end", kwargs={"pk": member.pk}))

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.end_date is not None
    assert AuditEvent.objects.filter(action="people.committee_member.ended").count() == 1
    assert AuditEvent.objects.filter(action="access.role.revoked").count() == 1


def test_committee_page_of_another_school_is_404(w, client_for):
    response = client_for(w.psych_b).get(committee_url(w))

    assert response.status_code == 404


def test_committee_page_for_a_mentor_is_403(w, client_for):
    response = client_for(w.mentor).get(committee_url(w))

    assert response.status_code == 403


def test_ending_another_schools_appointment_is_404(w, client_for):
    member, _slip = invitations.appoint_committee_member(
        actor=w.psych, student=w.stu_a1, term=w.term
    )

    response = client_for(w.psych_b).post(reverse("people:committee-end", kwargs={"pk": member.pk}))

    assert response.status_code == 404
    member.refresh_from_db()
    assert member.end_date is None


def test_head_teacher_of_another_class_cannot_manage_this_one(w, client_for):
    response = client_for(w.head_teacher).get(
        reverse("people:committee", kwargs={"code": w.class_a2.code})
    )

    assert response.status_code == 404  # the class is outside their tree scope


# --- school groups --------------------------------------------------------------------------
@pytest.fixture
def principal(w):
    return StaffFactory(
        username="principal_a",
        name="甲校校长",
        org_unit=w.school_a,
        positions=[(Position.PRINCIPAL, w.school_a)],
    )


def groups_url(w):
    return reverse("people:school-groups", kwargs={"code": w.school_a.code})


def test_school_admin_adds_the_principal_as_leader(w, client_for, principal):
    response = client_for(w.school_admin).post(
        groups_url(w),
        {"kind": GroupKind.LEADERSHIP, "staff": principal.pk, "role": GroupRole.LEADER},
    )

    assert response.status_code == 302
    membership = SchoolGroupMember.objects.get(staff=principal)
    assert (membership.role, membership.is_leader, membership.end_date) == ("leader", True, None)
    page = client_for(w.school_admin).get(groups_url(w)).content.decode()
    assert 'data-gap="leadership"' not in page
    assert 'data-gap="work"' in page


def test_a_leadership_group_not_led_by_the_principal_is_a_gap(w, client_for):
    teacher = StaffFactory(org_unit=w.school_a)
    services.add_group_member(
        actor=None, school=w.school_a, kind=GroupKind.LEADERSHIP, staff=teacher, role="leader"
    )

    response = client_for(w.school_admin).get(
        reverse("orgs:unit-detail", kwargs={"code": w.school_a.code})
    )

    assert "Not led by the principal." in response.content.decode()


def test_district_page_lists_schools_with_gaps(w, client_for, principal):
    w = with_personas(w, "district_admin")
    for kind in GroupKind.values:
        services.add_group_member(
            actor=None, school=w.school_a, kind=kind, staff=principal, role="leader"
        )
    school_c = StudentFactory(school_class__parent__parent__parent=w.district_a, term=w.term).school

    response = client_for(w.district_admin).get(
        reverse("orgs:unit-detail", kwargs={"code": w.district_a.code})
    )

    html = response.content.decode()
    gaps = html.split('data-testid="group-gaps"', 1)[1].split("</table>", 1)[0]
    assert school_c.name in gaps
    assert w.school_a.name not in gaps


def test_ending_a_member_keeps_the_history(w, client_for, principal):
    membership = services.add_group_member(
        actor=None, school=w.school_a, kind=GroupKind.CRISIS, staff=principal
    )

    response = client_for(w.school_admin).post(
        reverse("people:group-member-end", kwargs={"pk": membership.pk})
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.end_date == timezone.localdate()
    page = client_for(w.school_admin).get(groups_url(w)).content.decode()
    assert 'data-testid="group-history"' in page
    assert 'data-gap="crisis"' in page


def test_set_group_members_ends_those_left_out(w, principal):
    teacher = StaffFactory(org_unit=w.school_a)
    services.set_group_members(
        actor=None, school=w.school_a, kind="work", members=[principal, teacher], leader=principal
    )

    services.set_group_members(
        actor=None, school=w.school_a, kind="work", members=[teacher], leader=teacher
    )

    rows = SchoolGroupMember.objects.filter(group__school=w.school_a).order_by("id")
    assert [(r.staff_id, r.is_leader, r.end_date is None) for r in rows] == [
        (principal.pk, True, False),
        (teacher.pk, True, True),
    ]


def test_staff_of_another_school_cannot_join(w, principal):
    outsider = StaffFactory(org_unit=w.school_b)

    with pytest.raises(Exception, match="Only staff of this school"):
        services.add_group_member(actor=None, school=w.school_a, kind="work", staff=outsider)


def test_groups_page_of_another_school_is_404(w, client_for):
    admin_b = StaffFactory(org_unit=w.school_b, role=Role.SCHOOL_ADMIN).user

    response = client_for(admin_b).get(groups_url(w))

    assert response.status_code == 404


def test_groups_page_for_a_psychology_teacher_is_403(w, client_for):
    response = client_for(w.psych).get(groups_url(w))

    assert response.status_code == 403
