"""Guardians, family circumstances and parent accounts (issue 14, R23, R26): history kept with
dates, the Student flags in sync, a parent's invitation, ending a guardianship ends the access,
and circumstances raise attention."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xinqiao.access import invitations
from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.cases import policy
from xinqiao.people import services
from xinqiao.people.models import FamilyCircumstance, Guardian

from ..factories import StudentFactory, two_schools, with_personas
from ..otp import verified_client

PASSWORD = "Xinqiao!Parent-2026"
CODE = re.compile(r'data-testid="slip-code">([A-Z0-9-]+)<')


@pytest.fixture
def w(db):
    return with_personas(
        two_schools(), "school_admin", "psych", "head_teacher", "mentor", "psych_b", "parent"
    )


def detail(student):
    return reverse("people:student-detail", kwargs={"code": student.code})


# --- guardians ------------------------------------------------------------------------------
def test_head_teacher_adds_a_guardian_with_an_encrypted_phone(w, client_for):
    response = client_for(w.head_teacher).post(
        reverse("people:guardian-add", kwargs={"code": w.stu_a1.code}),
        {
            "relation": "father",
            "name": "王爸爸",
            "phone": "139 0013 9000",
            "start_date": "2026-09-01",
        },
    )

    assert response.status_code == 302
    guardian = Guardian.objects.get(name="王爸爸")
    assert (guardian.phone, guardian.start_date) == ("13900139000", datetime.date(2026, 9, 1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM people_guardian WHERE id = %s", [guardian.pk])
        assert "13900139000" not in cursor.fetchone()[0]


def test_a_bad_phone_is_shown_next_to_the_field(w, client_for):
    response = client_for(w.psych).post(
        reverse("people:guardian-add", kwargs={"code": w.stu_a1.code}),
        {"relation": "father", "name": "王爸爸", "phone": "12345"},
    )

    assert response.status_code == 200
    assert not Guardian.objects.filter(name="王爸爸").exists()


def test_editing_a_guardian_audits_the_fields_not_the_phone(w, client_for):
    from xinqiao.audit.models import AuditEvent

    response = client_for(w.school_admin).post(
        reverse("people:guardian-edit", kwargs={"code": w.guardian_a1.code}),
        {"relation": "mother", "name": "王妈妈", "phone": "13700137000", "is_primary": "on"},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="people.guardian.updated").get()
    assert event.fields["changed"] == ["phone"]
    assert "13700137000" not in str(event.fields)


def test_ending_a_guardianship_ends_the_parents_access_and_role(w, client_for):
    child = reverse("family:child-detail", kwargs={"code": w.stu_a1.code})
    assert client_for(w.parent).get(child).status_code == 200

    response = client_for(w.school_admin).post(
        reverse("people:guardian-end", kwargs={"code": w.guardian_a1.code})
    )

    assert response.status_code == 302
    w.guardian_a1.refresh_from_db()
    assert w.guardian_a1.end_date == timezone.localdate()
    parent = get_user_model().objects.get(pk=w.parent.pk)
    assert client_for(parent).get(child).status_code in (403, 404)
    assert not RoleAssignment.objects.filter(user=parent, role=Role.PARENT, is_active=True).exists()
    page = client_for(w.school_admin).get(detail(w.stu_a1)).content.decode()
    assert 'data-testid="ended-guardians"' in page


def test_a_parent_of_two_keeps_the_role_while_another_child_remains(w):
    sibling = StudentFactory(school_class=w.class_a2, term=w.term, name="王小华")
    services.add_guardian(
        actor=None,
        student=sibling,
        relation="mother",
        name="王妈妈",
        phone="13800138000",
        user=w.parent,
    )

    invitations.end_guardianship(actor=None, guardian=w.guardian_a1)

    assert RoleAssignment.objects.filter(user=w.parent, role=Role.PARENT, is_active=True).exists()


def test_guardian_pages_of_another_school_are_404(w, client_for):
    add = client_for(w.psych_b).get(reverse("people:guardian-add", kwargs={"code": w.stu_a1.code}))
    end = client_for(w.psych_b).post(
        reverse("people:guardian-end", kwargs={"code": w.guardian_a1.code})
    )

    assert (add.status_code, end.status_code) == (404, 404)
    w.guardian_a1.refresh_from_db()
    assert w.guardian_a1.end_date is None


def test_guardian_pages_for_a_mentor_are_403(w, client_for):
    response = client_for(w.mentor).get(
        reverse("people:guardian-edit", kwargs={"code": w.guardian_a1.code})
    )

    assert response.status_code == 403


# --- family circumstances -------------------------------------------------------------------
def test_recording_a_circumstance_sets_the_flag_and_ending_clears_it(w, client_for):
    client = client_for(w.head_teacher)

    client.post(
        reverse("people:circumstance-add", kwargs={"code": w.stu_a1.code}),
        {
            "kind": "left_behind",
            "source": "head_teacher",
            "start_date": "2026-09-01",
            "note": "父母在外地务工",
        },
    )
    w.stu_a1.refresh_from_db()
    assert w.stu_a1.left_behind is True
    row = FamilyCircumstance.objects.get(student=w.stu_a1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM people_familycircumstance WHERE id = %s", [row.pk])
        assert "务工" not in cursor.fetchone()[0]

    client.post(reverse("people:circumstance-end", kwargs={"code": row.code}))

    w.stu_a1.refresh_from_db()
    row.refresh_from_db()
    assert (w.stu_a1.left_behind, row.end_date) == (False, timezone.localdate())


def test_a_circumstance_cannot_be_open_twice(w):
    services.record_circumstance(actor=None, student=w.stu_a1, kind="migrant", source="school")

    with pytest.raises(Exception, match="already recorded"):
        services.record_circumstance(actor=None, student=w.stu_a1, kind="migrant", source="roster")


def test_circumstance_page_of_another_school_is_404(w, client_for):
    response = client_for(w.psych_b).get(
        reverse("people:circumstance-add", kwargs={"code": w.stu_a1.code})
    )

    assert response.status_code == 404


def test_circumstance_page_for_a_mentor_is_403(w, client_for):
    response = client_for(w.mentor).get(
        reverse("people:circumstance-add", kwargs={"code": w.stu_a1.code})
    )

    assert response.status_code == 403


def test_head_teachers_class_page_shows_family_circumstances(w, client_for):
    services.record_circumstance(actor=None, student=w.stu_a1, kind="left_behind", source="school")

    response = client_for(w.head_teacher).get(reverse("cases:my-class"))

    section = response.content.decode().split('data-testid="class-family"', 1)[1]
    assert "王小明" in section.split("</section>", 1)[0]


def test_a_flagged_child_is_followed_more_often():
    assert policy.follow_up_interval("yellow", referral_done=False) == datetime.timedelta(days=30)
    assert policy.follow_up_interval(
        "yellow", referral_done=False, family_flagged=True
    ) == datetime.timedelta(days=14)
    assert policy.follow_up_interval(
        "red", referral_done=False, family_flagged=True
    ) == datetime.timedelta(days=1)


# --- parent invitations ---------------------------------------------------------------------
@pytest.fixture
def father(w):
    return services.add_guardian(
        actor=None, student=w.stu_a1, relation="father", name="王爸爸", phone="13900139000"
    )


def test_a_printed_invitation_creates_the_parents_account(w, client_for, father):
    slip = client_for(w.head_teacher).post(
        reverse("people:guardian-invite", kwargs={"code": father.code})
    )
    code = CODE.search(slip.content.decode()).group(1)

    response = Client().post(
        reverse("account:invitation-redeem"),
        {"code": code, "username": "wang_baba", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    father.refresh_from_db()
    user = get_user_model().objects.get(username="wang_baba")
    assert father.user_id == user.pk
    assert RoleAssignment.objects.filter(
        user=user, role=Role.PARENT, org_unit=w.school_a, is_active=True
    ).exists()
    page = verified_client(user).get(reverse("family:child-detail", kwargs={"code": w.stu_a1.code}))
    assert page.status_code == 200


def test_a_signed_in_parent_links_a_second_child(w, client_for):
    sibling = StudentFactory(school_class=w.class_a2, term=w.term, name="王小华")
    guardian = services.add_guardian(
        actor=None, student=sibling, relation="mother", name="王妈妈", phone="13800138000"
    )
    slip = invitations.invite_parent(actor=None, guardian=guardian)

    response = client_for(w.parent).post(reverse("account:invitation-redeem"), {"code": slip.code})

    assert response.status_code == 302
    guardian.refresh_from_db()
    assert guardian.user_id == w.parent.pk
    home = client_for(w.parent).get(reverse("family:home")).content.decode()
    assert "王小华" in home
    assert "王小明" in home


def test_a_new_invitation_withdraws_the_old_one(w, father):
    first = invitations.invite_parent(actor=None, guardian=father)
    invitations.invite_parent(actor=None, guardian=father)

    assert invitations.find_open(first.code) is None


def test_ending_the_guardianship_withdraws_its_invitation(w, father):
    slip = invitations.invite_parent(actor=None, guardian=father)

    invitations.end_guardianship(actor=None, guardian=father)

    assert invitations.find_open(slip.code) is None


def test_inviting_for_another_schools_guardian_is_404(w, client_for, father):
    response = client_for(w.psych_b).post(
        reverse("people:guardian-invite", kwargs={"code": father.code})
    )

    assert response.status_code == 404
