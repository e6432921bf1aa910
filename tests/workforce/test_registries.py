"""Expert teams, competitions and studios (R14) with members over time and events; the expert
pool and committee terms. Ending sets an end date, history stays; another district's entries are
404, a wrong role 403."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.workforce import services
from xinqiao.workforce.models import CommitteeTerm, Expert, Registry, RegistryMember

D = datetime.date


def studio(w, owner=None, name="王老师名师工作室"):
    return services.create_registry(
        actor=None, kind="studio", owner=owner or w.district_a, name=name, start_date=D(2025, 9, 1)
    )


def test_members_over_time(w):
    s = studio(w)
    first = services.add_registry_member(s, actor=None, staff=w.full, start_date=D(2025, 9, 1))
    with pytest.raises(DomainError):
        services.add_registry_member(s, actor=None, staff=w.full, start_date=D(2025, 10, 1))
    services.end_registry_member(first, actor=None, end_date=D(2026, 7, 1))
    again = services.add_registry_member(s, actor=None, staff=w.full, start_date=D(2026, 9, 1))
    assert list(s.members.order_by("start_date").values_list("start_date", "end_date")) == [
        (D(2025, 9, 1), D(2026, 7, 1)),
        (D(2026, 9, 1), None),
    ]
    assert again.end_date is None
    with pytest.raises(DomainError):
        services.end_registry_member(first, actor=None)
    assert AuditEvent.objects.filter(action="workforce.registry_member.ended").count() == 1


def test_member_from_another_district_is_refused(w):
    s = studio(w)
    with pytest.raises(DomainError):
        services.add_registry_member(s, actor=None, staff=w.teacher_b, start_date=D(2025, 9, 1))


def test_events_are_audited(w):
    s = studio(w)
    services.add_registry_event(s, actor=w.district_admin, date=D(2026, 10, 9), title="公开课")
    assert s.events.get().title == "公开课"
    assert AuditEvent.objects.filter(action="workforce.registry_event.added").count() == 1


def test_registry_pages(w, client_for):
    client = client_for(w.district_admin)
    response = client.post(
        reverse("workforce:registry-create"),
        {
            "kind": "expert_team",
            "owner": w.district_a.pk,
            "name": "甲区心理危机干预专家组",
            "start_date": "2026-09-01",
        },
    )
    assert response.status_code == 302
    team = Registry.objects.get()
    add_member = reverse("workforce:registry-member-add", kwargs={"code": team.code})
    client.post(add_member, {"staff": w.full.code, "role": "组长", "start_date": "2026-09-01"})
    member = RegistryMember.objects.get()
    assert member.role == "组长"
    client.post(
        reverse("workforce:registry-event-add", kwargs={"code": team.code}),
        {"date": "2026-10-01", "title": "个案督导"},
    )
    client.post(reverse("workforce:registry-member-end", kwargs={"code": member.code}), {})
    member.refresh_from_db()
    assert member.end_date is not None
    body = client.get(reverse("workforce:registry-detail", kwargs={"code": team.code})).content
    assert "个案督导" in body.decode()
    listing = client.get(reverse("workforce:registry-list") + "?kind=expert_team").content
    assert "甲区心理危机干预专家组" in listing.decode()


def test_registry_of_another_district_is_404(w, client_for):
    other = studio(w, owner=w.district_b, name="乙区工作室")
    url = reverse("workforce:registry-detail", kwargs={"code": other.code})
    assert client_for(w.district_admin).get(url).status_code == 404
    assert client_for(w.city_admin).get(url).status_code == 200
    listing = client_for(w.district_admin).get(reverse("workforce:registry-list")).content
    assert "乙区工作室" not in listing.decode()


def test_registry_wrong_role_is_403(w, client_for):
    mine = studio(w)
    assert client_for(w.head_teacher).get(reverse("workforce:registry-list")).status_code == 403
    assert client_for(w.school_admin).get(reverse("workforce:registry-create")).status_code == 403
    edit = reverse("workforce:registry-edit", kwargs={"code": mine.code})
    assert client_for(w.station_counsellor).get(edit).status_code == 403


def test_registry_edit_sets_an_end(w, client_for):
    mine = studio(w)
    edit = reverse("workforce:registry-edit", kwargs={"code": mine.code})
    response = client_for(w.district_admin).post(
        edit, {"name": mine.name, "start_date": "2025-09-01", "end_date": "2026-08-31"}
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.end_date == D(2026, 8, 31)


# --- experts -------------------------------------------------------------------------------------
def expert(w, owner=None, name="张教授"):
    return services.create_expert(
        actor=None, owner=owner or w.city, name=name, affiliation="师范大学", expertise="危机干预"
    )


def test_expert_committee_terms(w):
    e = expert(w)
    term = services.seat_on_committee(e, actor=None, role="chair", start_date=D(2025, 1, 1))
    with pytest.raises(DomainError):
        services.seat_on_committee(e, actor=None, role="member", start_date=D(2025, 2, 1))
    services.end_committee_term(term, actor=None, end_date=D(2026, 1, 1))
    services.seat_on_committee(e, actor=None, role="member", start_date=D(2026, 1, 2))
    assert CommitteeTerm.objects.filter(expert=e).count() == 2


def test_expert_pool_belongs_to_city_or_district(w):
    with pytest.raises(DomainError):
        expert(w, owner=w.school_a)


def test_expert_pages(w, client_for):
    client = client_for(w.city_admin)
    response = client.post(
        reverse("workforce:expert-create"),
        {
            "owner": w.city.pk,
            "name": "李医生",
            "availability": "limited",
            "expertise": "青少年抑郁",
        },
    )
    assert response.status_code == 302
    e = Expert.objects.get()
    client.post(
        reverse("workforce:expert-committee-add", kwargs={"code": e.code}),
        {"role": "member", "start_date": "2026-01-01"},
    )
    assert e.committee_terms.get().end_date is None
    listing = client.get(reverse("workforce:expert-list") + "?committee=1").content.decode()
    assert "李医生" in listing
    client.post(reverse("workforce:expert-committee-end", kwargs={"code": e.code}), {})
    assert e.committee_terms.get().end_date is not None
    listing = client.get(reverse("workforce:expert-list") + "?committee=1").content.decode()
    assert "李医生" not in listing
    edit = reverse("workforce:expert-edit", kwargs={"code": e.code})
    response = client.post(edit, {"name": "李医生", "availability": "unavailable", "is_active": ""})
    assert response.status_code == 302
    e.refresh_from_db()
    assert (e.availability, e.is_active) == ("unavailable", False)


def test_expert_of_another_district_is_404_and_wrong_role_403(w, client_for):
    b = expert(w, owner=w.district_b, name="乙区专家")
    url = reverse("workforce:expert-detail", kwargs={"code": b.code})
    assert client_for(w.district_admin).get(url).status_code == 404
    assert client_for(w.city_admin).get(url).status_code == 200
    assert client_for(w.head_teacher).get(url).status_code == 403
    assert client_for(w.school_admin).get(reverse("workforce:expert-create")).status_code == 403
    edit = reverse("workforce:expert-edit", kwargs={"code": b.code})
    assert client_for(w.psych).get(edit).status_code == 403


# --- searchable staff pickers (docs/pickers.md, source "workforce-staff") ------------------------
def _pick(client, text, field="staff"):
    return client.get(
        reverse("pick", args=["workforce-staff"]), {"field": field, f"{field}__q": text}
    )


def test_member_picker_finds_staff_of_the_area_by_name_and_initials(w, client_for):
    client = client_for(w.district_admin)
    by_name = _pick(client, "专职").content.decode()
    assert f'value="{w.full.code}"' in by_name
    by_initials = _pick(client, "zzj").content.decode()  # 专职甲
    assert f'value="{w.full.code}"' in by_initials
    # another district's teacher is never offered, by name or initials
    assert f'value="{w.teacher_b.code}"' not in _pick(client, "乙校").content.decode()
    assert f'value="{w.teacher_b.code}"' not in _pick(client, "yxl").content.decode()
    # the city sees both districts
    assert f'value="{w.teacher_b.code}"' in _pick(client_for(w.city_admin), "乙校").content.decode()
    # wrong roles (no edit_workforce): a school's admin and psychology teacher are refused
    assert _pick(client_for(w.school_admin), "专职").status_code == 403
    assert _pick(client_for(w.psych), "专职").status_code == 403


def test_registry_page_renders_the_picker_and_refuses_foreign_codes(w, client_for):
    team = studio(w)
    client = client_for(w.district_admin)
    page = client.get(reverse("workforce:registry-detail", kwargs={"code": team.code}))
    assert reverse("pick", args=["workforce-staff"]) in page.content.decode()
    add = reverse("workforce:registry-member-add", kwargs={"code": team.code})
    # a code of another district's teacher is an invalid choice: the page comes back, no member
    response = client.post(add, {"staff": w.teacher_b.code, "start_date": "2026-09-01"})
    assert response.status_code == 200
    assert not RegistryMember.objects.exists()
    # without JavaScript the Search button brings the page back with the results
    searched = client.post(
        add, {"staff__q": "专职", "staff__search": "1", "start_date": "2026-09-01"}
    )
    assert searched.status_code == 200
    assert f'value="{w.full.code}"' in searched.content.decode()
    assert not RegistryMember.objects.exists()
    # a sequential id is not accepted in place of the code
    client.post(add, {"staff": w.full.pk, "start_date": "2026-09-01"})
    assert not RegistryMember.objects.exists()
    client.post(add, {"staff": w.full.code, "start_date": "2026-09-01"})
    assert RegistryMember.objects.get().staff == w.full


def test_city_member_of_a_district_registry_is_refused_with_a_message(w, client_for):
    team = studio(w)  # owned by district A
    client = client_for(w.city_admin)
    add = reverse("workforce:registry-member-add", kwargs={"code": team.code})
    response = client.post(add, {"staff": w.teacher_b.code, "start_date": "2026-09-01"})
    assert response.status_code == 200
    assert "乙校老师" in response.content.decode()
    assert not RegistryMember.objects.exists()


# --- an account for a pool expert (partners' EXPERT role) ----------------------------------------
PASSWORD = "Xinqiao-Expert-2026!"


def pool_expert(w, owner=None, name="陈教授"):
    return services.create_expert(
        actor=None, owner=owner or w.district_a, name=name, affiliation="师范大学心理系"
    )


def test_expert_invitation_creates_an_expert_account_linked_to_the_record(w, client_for):
    from django.test import Client

    from xinqiao.access.models import RoleAssignment
    from xinqiao.access.roles import Role
    from xinqiao.workforce.models import ExpertInvitation

    expert = pool_expert(w)
    admin = client_for(w.district_admin)
    page = admin.get(reverse("workforce:expert-detail", kwargs={"code": expert.code}))
    assert 'data-testid="expert-invite-form"' in page.content.decode()
    response = admin.post(reverse("workforce:expert-invite", kwargs={"code": expert.code}))
    assert response.status_code == 200
    token = response.context["token"]
    invitation = ExpertInvitation.objects.get(expert=expert)
    assert token not in invitation.token_hash  # only the hash is stored
    assert AuditEvent.objects.filter(action="workforce.expert_invitation.created").exists()
    # the expert accepts at the staff invitation's page, with a username and their own password
    visitor = Client()
    url = reverse("account:invitation", args=[token])
    assert "陈教授" in visitor.get(url).content.decode()
    accepted = visitor.post(
        url, {"username": "chen_prof", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert accepted.status_code == 302
    expert.refresh_from_db()
    assert expert.user is not None
    assert expert.user.username == "chen_prof"
    assert expert.user.check_password(PASSWORD)
    assignment = RoleAssignment.objects.get(user=expert.user)
    assert (assignment.role, assignment.org_unit) == (Role.EXPERT, w.district_a)
    assert AuditEvent.objects.filter(action="workforce.expert_invitation.accepted").exists()
    # the code works once
    assert visitor.get(url).status_code == 404
    # a second invitation is refused: the expert has an account
    admin.post(reverse("workforce:expert-invite", kwargs={"code": expert.code}))
    assert ExpertInvitation.objects.filter(expert=expert).count() == 1


def test_a_new_expert_invitation_revokes_the_old_one(w):
    expert = pool_expert(w)
    first, first_token = services.invite_expert_account(expert, actor=None)
    _second, _token = services.invite_expert_account(expert, actor=None)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert services.open_expert_invitation(first_token) is None


def test_expert_invitation_is_refused_to_other_areas_and_roles(w, client_for):
    from xinqiao.workforce.models import ExpertInvitation

    expert = pool_expert(w, owner=w.district_b)
    url = reverse("workforce:expert-invite", kwargs={"code": expert.code})
    # district A's admin: another district's pool → 404
    assert client_for(w.district_admin).post(url).status_code == 404
    # roles without manage_experts → 403
    for user in (w.school_admin, w.psych, w.station_counsellor):
        assert client_for(user).post(url).status_code == 403
    assert not ExpertInvitation.objects.exists()
    # the city admin may
    assert client_for(w.city_admin).post(url).status_code == 200
    assert ExpertInvitation.objects.filter(expert=expert).count() == 1
