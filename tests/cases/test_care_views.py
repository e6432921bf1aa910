# ruff: noqa: F811 (fixtures imported from test_care_services are parameters here)
"""Care views: the form pages, the care panel on the case page, the document download.

Every page is refused to a user of another school (world.psych_b → 404) and to the wrong role
(head teacher, mentor → 403; the moral-education leader → 403 on writes and documents)."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import Case, CaseTeamMember, FollowUp, GuardianContact, SupportPlan
from xinqiao.cases.services import care as services
from xinqiao.cases.views import care as views

# The fixtures live with the service tests; pytest finds them by name once imported here.
from .test_care_services import (  # noqa: F401
    PDF,
    _media,
    case_a1,
    contact,
    follow_up,
    pdf,
    red_case_a1,
)

pytestmark = pytest.mark.django_db

FORM_PAGES = ["cases:team-add", "cases:plan-edit", "cases:follow-up-create", "cases:contact-create"]


def url(name, case, **kw):
    return reverse(name, kwargs={"code": case.code, **kw})


def local(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("name", FORM_PAGES)
def test_form_pages_for_the_schools_psychology_teacher_only(world, client_for, name):
    target = url(name, world.case_a2)
    assert client_for(world.psych).get(target).status_code == 200
    assert client_for(world.psych_b).get(target).status_code == 404
    for who in ("head_teacher", "mentor", "committee", "parent", "school_admin", "city_admin"):
        assert client_for(getattr(world, who)).get(target).status_code == 403, who
    assert client_for(world.station_counsellor).get(target).status_code == 404  # orange: not seen


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("cases:team-add-usual", {}),
        ("cases:team-remove", {"member_id": 1}),
    ],
)
def test_post_only_actions(world, client_for, name, kw):
    target = url(name, world.case_a2, **kw)
    assert client_for(world.psych).get(target).status_code == 405
    assert client_for(world.psych_b).post(target).status_code == 404
    assert client_for(world.head_teacher).post(target).status_code == 403
    assert client_for(world.mentor).post(target).status_code == 403
    assert client_for(world.school_admin).post(target).status_code == 403
    assert CaseTeamMember.objects.count() == 0


def test_add_usual_team_redirects_to_the_case_page(world, client_for, case_a1):
    response = client_for(world.psych).post(url("cases:team-add-usual", case_a1))
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case_a1.code}/#care"
    assert set(CaseTeamMember.objects.values_list("user__username", flat=True)) == {
        "psych_a",
        "school_admin_a",
        "head_teacher_a1",
    }


def test_add_one_member_and_remove(world, client_for, case_a1):
    client = client_for(world.psych)
    page = client.get(url("cases:team-add", case_a1)).content.decode()
    assert f"{world.mentor.pk}:mentor" in page
    assert f"{world.psych_b.pk}:" not in page
    response = client.post(
        url("cases:team-add", case_a1),
        {"member": f"{world.mentor.pk}:mentor", "task": "数学课上多留意"},
    )
    assert response.status_code == 302
    member = CaseTeamMember.objects.get()
    assert (member.user, member.tier, member.task) == (world.mentor, 2, "数学课上多留意")
    response = client.post(url("cases:team-remove", case_a1, member_id=member.pk))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.removed_at is not None


def test_add_member_refuses_a_forged_choice(world, client_for, case_a1):
    response = client_for(world.psych).post(
        url("cases:team-add", case_a1), {"member": f"{world.psych_b.pk}:psychology_teacher"}
    )
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert CaseTeamMember.objects.count() == 0


def test_plan_form_saves_a_version_and_shows_the_current_one(world, client_for):
    client = client_for(world.psych)
    review = (timezone.localdate() + datetime.timedelta(days=14)).isoformat()
    data = {"goal": "恢复作息", "actions": "每周面谈", "owner": world.psych.pk, "review_on": review}
    assert client.post(url("cases:plan-edit", world.case_a2), data).status_code == 302
    page = client.get(url("cases:plan-edit", world.case_a2)).content.decode()
    assert "恢复作息" in page
    assert AuditEvent.objects.filter(action="cases.case.care_notes_viewed").exists()
    data["goal"] = "回归课堂"
    assert client.post(url("cases:plan-edit", world.case_a2), data).status_code == 302
    assert SupportPlan.objects.count() == 2


def test_plan_form_refuses_a_past_review_date_keeping_the_text(world, client_for):
    past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    response = client_for(world.psych).post(
        url("cases:plan-edit", world.case_a2),
        {"goal": "我写的目标", "actions": "措施", "owner": world.psych.pk, "review_on": past},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The review date cannot be in the past." in page
    assert "我写的目标" in page


def test_follow_up_form_double_submit_records_once(world, client_for):
    client = client_for(world.psych)
    page = client.get(url("cases:follow-up-create", world.case_a2)).content.decode()
    assert 'name="client_key"' in page
    data = {
        "client_key": "abc123",
        "done_at": local(timezone.now() - datetime.timedelta(minutes=10)),
        "method": "interview",
        "trend": "improving",
        "note": "情绪好转",
    }
    for _ in range(2):
        response = client.post(url("cases:follow-up-create", world.case_a2), data)
        assert response.status_code == 302
        assert response["Location"] == f"/cases/{world.case_a2.code}/#care"
    assert FollowUp.objects.count() == 1


def test_follow_up_form_keeps_the_note_on_a_refusal(world, client_for):
    response = client_for(world.psych).post(
        url("cases:follow-up-create", world.case_a2),
        {
            "client_key": "k",
            "done_at": local(timezone.now() + datetime.timedelta(days=1)),
            "method": "phone",
            "trend": "stable",
            "note": "我辛苦写的记录",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The time cannot be in the future." in page
    assert "我辛苦写的记录" in page
    assert 'value="k"' in page


def test_contact_form_masks_nothing_for_the_psych_and_refuses_red_without_ack(
    world, client_for, red_case_a1
):
    client = client_for(world.psych)
    page = client.get(url("cases:contact-create", red_case_a1)).content.decode()
    assert "13800138000" in page  # view_guardian_contact
    guardian = red_case_a1.student.guardians.get()
    data = {
        "client_key": "c-key",
        "guardian": guardian.pk,
        "method": "phone",
        "contacted_at": local(timezone.now()),
        "what_was_said": "告知红色预警",
        "consent": "given",
        "informed_of_level": "red",
    }
    response = client.post(url("cases:contact-create", red_case_a1), data)
    assert response.status_code == 200
    assert "signed acknowledgement" in response.content.decode()
    assert "告知红色预警" in response.content.decode()
    assert GuardianContact.objects.count() == 0
    data["acknowledgement"] = SimpleUploadedFile("ack.pdf", PDF, "application/pdf")
    response = client.post(url("cases:contact-create", red_case_a1), data)
    assert response.status_code == 302
    assert GuardianContact.objects.get().acknowledgement.kind == "guardian_ack"


def test_contact_form_rejects_a_non_pdf_upload(world, client_for, red_case_a1):
    response = client_for(world.psych).post(
        url("cases:contact-create", red_case_a1),
        {
            "client_key": "c-key",
            "method": "meeting",
            "contacted_at": local(timezone.now()),
            "what_was_said": "面谈",
            "consent": "not_asked",
            "informed_of_level": "red",
            "acknowledgement": SimpleUploadedFile("ack.txt", b"hello", "text/plain"),
        },
    )
    assert response.status_code == 200
    assert "Upload a PDF, JPEG or PNG file." in response.content.decode()
    assert GuardianContact.objects.count() == 0


def test_acknowledgement_upload_later(world, client_for, red_case_a1):
    c = contact(red_case_a1, world.psych, informed_of_level="red", acknowledgement_later=True)
    target = url("cases:contact-acknowledgement", red_case_a1, contact_id=c.pk)
    client = client_for(world.psych)
    assert client.get(target).status_code == 200
    bad = client.post(target, {"file": SimpleUploadedFile("a.gif", b"GIF89a....", "image/gif")})
    assert bad.status_code == 200
    assert "Upload a PDF, JPEG or PNG file." in bad.content.decode()
    ok = client.post(target, {"file": SimpleUploadedFile("a.pdf", PDF, "application/pdf")})
    assert ok.status_code == 302
    c.refresh_from_db()
    assert c.acknowledgement is not None
    assert client_for(world.school_admin).get(target).status_code == 403
    assert client_for(world.psych_b).get(target).status_code == 404
    assert client_for(world.head_teacher).get(target).status_code == 403
    other = url("cases:contact-acknowledgement", world.case_a2, contact_id=c.pk)
    assert client.get(other).status_code == 404  # the contact belongs to another case


# --- documents --------------------------------------------------------------------------------


def test_document_download_is_audited_and_not_cached(world, client_for, red_case_a1):
    c = contact(red_case_a1, world.psych, informed_of_level="red", acknowledgement=pdf())
    doc = c.acknowledgement
    target = reverse("cases:document", kwargs={"code": doc.code})
    response = client_for(world.psych).get(target)
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E5%9B%9E%E6%89%A7.pdf" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="cases.document.downloaded")
    assert event.actor_username == "psych_a"
    assert event.fields == {"read": [f"document:{doc.code}", "guardian_ack"]}


def test_document_download_refused_for_the_leader_and_others(world, client_for, red_case_a1):
    c = contact(red_case_a1, world.psych, informed_of_level="red", acknowledgement=pdf())
    target = reverse("cases:document", kwargs={"code": c.acknowledgement.code})
    assert client_for(world.school_admin).get(target).status_code == 403
    assert client_for(world.psych_b).get(target).status_code == 404
    assert client_for(world.head_teacher).get(target).status_code == 403
    assert client_for(world.mentor).get(target).status_code == 403
    assert client_for(world.parent).get(target).status_code == 403
    # The district station sees (and reads the notes of) red cases of its district.
    assert client_for(world.station_counsellor).get(target).status_code == 200
    assert AuditEvent.objects.filter(action="cases.document.downloaded").count() == 1
    assert (
        client_for(world.psych)
        .get(reverse("cases:document", kwargs={"code": world.case_a2.code}))
        .status_code
        == 404
    )


# --- the panel --------------------------------------------------------------------------------


@pytest.fixture
def busy_case(world, case_a1):
    services.add_usual_team(case_a1, actor=world.psych)
    services.save_support_plan(
        case_a1,
        actor=world.psych,
        goal="计划目标文字",
        actions="计划措施文字",
        owner=world.psych,
        review_on=timezone.localdate(),
    )
    follow_up(case_a1, world.psych, note="随访笔记文字")
    contact(case_a1, world.psych, what_was_said="沟通内容文字", informed_of_level="orange")
    return case_a1


def render_panel(user, case) -> str:
    request = RequestFactory().get("/")
    request.user = user
    built = views.panel(principal_for(user), case)
    assert built is not None
    assert built.template == "cases/care/_panel.html"
    return render_to_string(built.template, {"case": case, **built.context}, request=request)


def test_panel_for_the_psych_shows_notes_and_forms_and_audits(world, busy_case):
    html = render_panel(world.psych, busy_case)
    for text in ("计划目标文字", "随访笔记文字", "沟通内容文字", "13800138000", "甲校七1班主任"):
        assert text in html, text
    assert reverse("cases:follow-up-create", kwargs={"code": busy_case.code}) in html
    event = AuditEvent.objects.filter(action="cases.case.care_notes_viewed").get()
    assert event.object_id == str(busy_case.pk)


def test_panel_for_the_leader_shows_dates_but_no_notes(world, busy_case):
    html = render_panel(world.school_admin, busy_case)
    for text in ("计划目标文字", "计划措施文字", "随访笔记文字", "沟通内容文字", "13800138000"):
        assert text not in html, text
    assert "甲校七1班主任" in html  # the team
    assert timezone.localdate().strftime("%Y-%m-%d") in html  # plan review date
    assert "Record a follow-up" not in html
    assert "Add the usual team" not in html
    assert not AuditEvent.objects.filter(action="cases.case.care_notes_viewed").exists()


def test_panel_shows_overdue_and_missing_acknowledgement(world, red_case_a1):
    Case.objects.filter(pk=red_case_a1.pk).update(
        next_follow_up_due=timezone.now() - datetime.timedelta(hours=1)
    )
    red_case_a1.refresh_from_db()
    contact(red_case_a1, world.psych, informed_of_level="red", acknowledgement_later=True)
    html = render_panel(world.school_admin, red_case_a1)
    assert 'data-testid="follow-up-overdue"' in html
    assert 'data-testid="ack-missing"' in html
    psych_html = render_panel(world.psych, red_case_a1)
    assert "/acknowledgement/" in psych_html


def test_panel_is_not_built_for_roles_without_the_case_page(world, busy_case):
    for who in ("head_teacher", "mentor", "committee", "parent", "city_admin"):
        assert views.panel(principal_for(getattr(world, who)), busy_case) is None


def test_case_page_renders_the_care_panel(world, client_for, busy_case):
    page = client_for(world.psych).get(f"/cases/{busy_case.code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="care-panel"' in html
    assert "随访笔记文字" in html
    leader = client_for(world.school_admin).get(f"/cases/{busy_case.code}/").content.decode()
    assert 'data-testid="care-panel"' in leader
    assert "随访笔记文字" not in leader


def test_team_member_is_told_only_that_a_student_needs_attention(world, client_for, busy_case):
    from xinqiao.notifications.services import dispatch_outbox

    dispatch_outbox()
    inbox = client_for(world.head_teacher).get("/alerts/inbox/").content.decode()
    assert "A student needs your attention" in inbox
    assert "orange" not in inbox.lower()
    assert "随访" not in inbox
    assert Role.HEAD_TEACHER  # the head teacher still cannot open the case page
    assert client_for(world.head_teacher).get(f"/cases/{busy_case.code}/").status_code == 403


def test_panel_query_count_does_not_grow_with_rows(world, busy_case, django_assert_max_num_queries):
    principal = principal_for(world.psych)
    with django_assert_max_num_queries(12):
        views.panel(principal, busy_case)
    for n in range(5):
        follow_up(busy_case, world.psych, key=f"more-{n}")
        contact(busy_case, world.psych, key=f"more-c{n}")
    with django_assert_max_num_queries(12):
        views.panel(principal, busy_case)


def test_station_reads_a_red_case_panel_without_forms(world, red_case_a1):
    follow_up(red_case_a1, world.psych, note="站点可见的笔记")
    html = render_panel(world.station_counsellor, red_case_a1)
    assert "站点可见的笔记" in html
    assert "Record a follow-up" not in html
