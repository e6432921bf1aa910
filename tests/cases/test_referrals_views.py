"""Referral pages: the psychology teacher's refer / cancel forms, the psychiatrist's inbox, referral
page and feedback form, the panel on the case page — and that a psychiatrist sees no other
student on any URL of the project."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from tests.access.test_permission_matrix import ROWS, sample_kwargs
from tests.conftest import _user, respond
from tests.otp import verified_client
from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import FollowUp, GuardianContact, Referral, ReferralStatus
from xinqiao.cases.services import referrals as services
from xinqiao.instruments.labels import score_label
from xinqiao.notifications.models import InboxMessage
from xinqiao.notifications.services import dispatch_outbox
from xinqiao.orgs.services import create_unit

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def other_psychiatrist(world):
    hospital_b = create_unit(actor=None, parent=world.district_b, kind="hospital", name="乙区医院")
    return _user("psychiatrist_b", "乙区医生", hospital_b, Role.PSYCHIATRIST)


def url(name, obj):
    return reverse(f"cases:{name}", kwargs={"code": obj.code})


def cancel_a2(world):
    services.cancel_referral(world.referral_a2, actor=world.psych, reason="not_needed")


def form_data(world, **overrides):
    data = {
        "destination": f"{world.hospital.code}:{world.psychiatrist.pk}",
        "reason": "情绪持续低落两个月，学习明显下降",
        "consent_basis": "guardian_consent",
        "consent_document": SimpleUploadedFile("consent.pdf", PDF, "application/pdf"),
        "client_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


# --- the psychology teacher: refer ---------------------------------------------------------------
def test_refer_form_shows_the_directory(world, client_for):
    response = client_for(world.psych).get(url("referral-create", world.case_a2))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.hospital.name in html
    assert "精神科医生" in html
    assert 'data-testid="open-referral"' in html  # referral_a2 is still open: no form
    assert 'name="client_key"' not in html
    cancel_a2(world)
    html = client_for(world.psych).get(url("referral-create", world.case_a2)).content.decode()
    assert 'data-testid="open-referral"' not in html
    assert 'name="client_key"' in html
    assert 'data-testid="no-consent-contacts"' in html


def test_refer_through_the_form(world, client_for):
    cancel_a2(world)
    client = client_for(world.psych)
    data = form_data(world)
    response = client.post(url("referral-create", world.case_a2), data)
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{world.case_a2.code}/"
    referral = Referral.objects.get(case=world.case_a2, status=ReferralStatus.SENT)
    assert referral.psychiatrist == world.psychiatrist
    assert referral.consent_document.kind == "referral_consent"
    # A double submit (same key) makes no second referral.
    data["consent_document"] = SimpleUploadedFile("consent.pdf", PDF, "application/pdf")
    again = client.post(url("referral-create", world.case_a2), data)
    assert again.status_code == 302
    assert Referral.objects.filter(case=world.case_a2, status="sent").count() == 1


def test_refer_to_any_psychiatrist_of_the_hospital(world, client_for):
    cancel_a2(world)
    data = form_data(world, destination=str(world.hospital.code))
    client_for(world.psych).post(url("referral-create", world.case_a2), data)
    assert Referral.objects.get(case=world.case_a2, status="sent").psychiatrist is None


def test_refused_referral_keeps_what_was_typed(world, client_for):
    cancel_a2(world)
    data = form_data(world, consent_document="", reason="请保留这段文字")
    data.pop("consent_document")
    response = client_for(world.psych).post(url("referral-create", world.case_a2), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "请保留这段文字" in html
    assert data["client_key"] in html
    assert "separate consent" in html
    assert not Referral.objects.filter(case=world.case_a2, status="sent").exists()


def test_refer_with_consent_contact_through_the_form(world, client_for):
    cancel_a2(world)
    given = GuardianContact.objects.create(
        case=world.case_a2,
        method="meeting",
        contacted_at=timezone.now(),
        what_was_said="说明转介",
        consent="given",
        recorded_by=world.psych,
        client_key="gc-1",
        created_at=timezone.now(),
    )
    data = form_data(world, consent_contact=str(given.pk))
    data.pop("consent_document")
    response = client_for(world.psych).post(url("referral-create", world.case_a2), data)
    assert response.status_code == 302
    assert Referral.objects.get(case=world.case_a2, status="sent").consent_contact == given


@pytest.mark.parametrize(
    ("who", "status"),
    [("psych_b", 404), ("head_teacher", 403), ("school_admin", 403), ("psychiatrist", 403)],
)
def test_refer_form_refuses_others(world, client_for, who, status):
    client = client_for(getattr(world, who))
    assert client.get(url("referral-create", world.case_a2)).status_code == status
    assert client.post(url("referral-create", world.case_a2), form_data(world)).status_code == (
        status
    )


# --- the psychology teacher: cancel --------------------------------------------------------------
def test_cancel_through_the_form(world, client_for):
    client = client_for(world.psych)
    assert client.get(url("referral-cancel", world.referral_a2)).status_code == 200
    response = client.post(url("referral-cancel", world.referral_a2), {"reason": "other"})
    assert response.status_code == 302
    world.referral_a2.refresh_from_db()
    assert world.referral_a2.status == ReferralStatus.CANCELLED
    again = client.get(url("referral-cancel", world.referral_a2))
    assert 'data-testid="cancel-form"' not in again.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [("psych_b", 404), ("head_teacher", 403), ("school_admin", 403), ("psychiatrist", 403)],
)
def test_cancel_refuses_others(world, client_for, who, status):
    client = client_for(getattr(world, who))
    assert client.post(
        url("referral-cancel", world.referral_a2), {"reason": "other"}
    ).status_code == (status)
    world.referral_a2.refresh_from_db()
    assert world.referral_a2.status == ReferralStatus.SENT


# --- the psychiatrist ----------------------------------------------------------------------------
def test_inbox_lists_the_psychiatrists_referrals(world, client_for):
    response = client_for(world.psychiatrist).get(reverse("cases:referral-inbox"))
    html = response.content.decode()
    assert response.status_code == 200
    assert world.stu_a2.name in html
    assert world.stu_a1.name not in html
    assert world.stu_b1.name not in html


def test_inbox_of_another_hospital_is_empty(world, client_for, other_psychiatrist):
    html = client_for(other_psychiatrist).get(reverse("cases:referral-inbox")).content.decode()
    assert world.stu_a2.name not in html
    assert "No referrals." in html


def test_referral_page_shows_the_minimum_and_is_audited(world, client_for):
    FollowUp.objects.create(
        case=world.case_a2,
        done_at=timezone.now(),
        method="interview",
        trend="worse",
        level_at_time="orange",
        note="笔记内容不给医院看",
        recorded_by=world.psych,
        client_key="fu-x",
        created_at=timezone.now(),
    )
    from xinqiao.people.services import add_guardian

    add_guardian(
        actor=None,
        student=world.stu_a2,
        relation="father",
        name="李爸爸",
        phone="13912345678",
        is_primary=True,
    )
    response = client_for(world.psychiatrist).get(url("referral-detail", world.referral_a2))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.referral_a2.reason in html
    assert world.stu_a2.name in html
    assert world.school_a.name in html
    assert world.class_a2.name in html
    assert "甲校心理老师" in html  # the school's owner
    assert "李爸爸" in html
    assert "13912345678" not in html  # phone masked
    assert "139****5678" in html
    assert "笔记内容" not in html  # never the case notes
    assert escape(world.referral_a2.get_consent_basis_display()) in html
    event = AuditEvent.objects.filter(action="cases.referral.viewed").get()
    assert event.actor_id == world.psychiatrist.pk
    assert event.school_id == world.school_a.pk
    assert "reason" in event.fields["read"]


@pytest.mark.parametrize("who", ["psych", "psych_b", "head_teacher", "school_admin", "city_admin"])
def test_psychiatrist_pages_refuse_other_roles(world, client_for, who):
    client = client_for(getattr(world, who))
    for name in ("referral-detail", "referral-feedback"):
        assert client.get(url(name, world.referral_a2)).status_code == 403
    assert client.get(reverse("cases:referral-inbox")).status_code == 403
    for name in ("referral-receive", "referral-seen", "referral-feedback"):
        assert client.post(url(name, world.referral_a2), {}).status_code == 403


def test_psychiatrist_pages_answer_404_to_another_hospital(world, client_for, other_psychiatrist):
    client = client_for(other_psychiatrist)
    for name in ("referral-detail", "referral-feedback"):
        assert client.get(url(name, world.referral_a2)).status_code == 404
    for name in ("referral-receive", "referral-seen", "referral-feedback"):
        assert client.post(url(name, world.referral_a2), {}).status_code == 404
    world.referral_a2.refresh_from_db()
    assert world.referral_a2.status == ReferralStatus.SENT


def test_receive_seen_feedback_through_the_pages(world, client_for):
    client = client_for(world.psychiatrist)
    r = world.referral_a2
    # Out of order: feedback first is refused with a clear message.
    early = client.get(url("referral-feedback", r))
    assert 'data-testid="feedback-not-ready"' in early.content.decode()
    refused = client.post(url("referral-feedback", r), {"advice_for_school": "太早"})
    assert refused.status_code == 200
    assert "Record the visit" in refused.content.decode()
    # Seen before received: refused, the message shown.
    client.post(url("referral-seen", r), {"seen_on": timezone.localdate().isoformat()})
    r.refresh_from_db()
    assert r.status == ReferralStatus.SENT
    assert client.post(url("referral-receive", r)).status_code == 302
    bad = client.post(url("referral-seen", r), {"seen_on": "2099-01-01"})
    assert bad.status_code == 200
    assert "cannot be in the future" in bad.content.decode()
    ok = client.post(url("referral-seen", r), {"seen_on": timezone.localdate().isoformat()})
    assert ok.status_code == 302
    sent = client.post(
        url("referral-feedback", r),
        {
            "diagnosis_category": "",
            "advice_for_school": "每周心理随访，注意睡眠",
            "next_review_on": "",
        },
    )
    assert sent.status_code == 302
    r.refresh_from_db()
    assert r.status == ReferralStatus.FEEDBACK
    assert r.advice_for_school == "每周心理随访，注意睡眠"
    # The owner hears of it in the inbox, and reads it on the case page.
    dispatch_outbox()
    owner = client_for(world.psych)
    inbox = owner.get(reverse("notifications:inbox")).content.decode()
    assert "Hospital feedback on a referral" in inbox
    assert InboxMessage.objects.filter(recipient=world.psych, url=f"/cases/{world.case_a2.code}/")
    page = owner.get(reverse("cases:case-detail", kwargs={"code": world.case_a2.code}))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="referral-panel"' in html
    assert "每周心理随访，注意睡眠" in html
    # The moral-education leader sees the status, not the advice.
    leader = client_for(world.school_admin).get(
        reverse("cases:case-detail", kwargs={"code": world.case_a2.code})
    )
    leader_html = leader.content.decode()
    assert 'data-testid="referral-panel"' in leader_html
    assert "Feedback given" in leader_html
    assert "每周心理随访" not in leader_html
    assert world.referral_a2.reason not in leader_html


def test_case_page_panel_links_for_the_handler(world, client_for):
    html = (
        client_for(world.psych)
        .get(reverse("cases:case-detail", kwargs={"code": world.case_a2.code}))
        .content.decode()
    )
    assert url("referral-cancel", world.referral_a2) in html
    assert 'data-testid="referral-create-link"' not in html  # one open referral at a time
    assert world.referral_a2.reason in html
    assert AuditEvent.objects.filter(
        action="cases.referral.viewed", object_id=str(world.referral_a2.pk)
    ).exists()
    cancel_a2(world)
    html = (
        client_for(world.psych)
        .get(reverse("cases:case-detail", kwargs={"code": world.case_a2.code}))
        .content.decode()
    )
    assert 'data-testid="referral-create-link"' in html
    assert "No longer needed after reassessment" in html


def test_navigation_shows_referrals_to_psychiatrists_only(world, client_for):
    assert (
        'data-nav="cases:referral-inbox"'
        in client_for(world.psychiatrist).get("/").content.decode()
    )
    assert (
        'data-nav="cases:referral-inbox"' not in client_for(world.psych).get("/").content.decode()
    )


# --- no other student on any URL --------------------------------------------------------------
def _bodies(world, user):
    user = get_user_model().objects.get(pk=user.pk)
    client = verified_client(user)
    for row in ROWS:
        try:
            target = reverse(row["url"], kwargs=sample_kwargs(world, row["sample"]))
        except Exception:  # noqa: S112 - a row the matrix test itself reports
            continue
        with transaction.atomic():
            response = client.get(target)
        body = b"" if getattr(response, "streaming", False) else response.content
        yield row["url"], response.status_code, body.decode("utf-8", "replace")


def test_psychiatrist_sees_no_other_student_on_any_url(world):
    leaks = [
        (name, status)
        for name, status, body in _bodies(world, world.psychiatrist)
        if world.stu_a1.name in body or world.stu_b1.name in body
    ]
    assert leaks == []


def test_psychiatrist_of_another_hospital_sees_no_student_on_any_url(world, other_psychiatrist):
    names = (world.stu_a1.name, world.stu_a2.name, world.stu_b1.name)
    leaks = [
        (name, status)
        for name, status, body in _bodies(world, other_psychiatrist)
        if any(n in body for n in names)
    ]
    assert leaks == []


@pytest.mark.parametrize("ended", ["feedback", "case_closed"])
def test_psychiatrist_access_ends_after_feedback_or_closure(world, client_for, settings, ended):
    """Issue 13: access to a referred student ends a configurable time after the referral's
    feedback or the case's closure."""
    from xinqiao.cases.models import Case

    settings.PSYCHIATRIST_ACCESS_DAYS = 30
    client = client_for(world.psychiatrist)
    page = url("referral-detail", world.referral_a2)
    assert client.get(page).status_code == 200
    for days, expected in ((29, 200), (31, 404)):
        when = timezone.now() - datetime.timedelta(days=days)
        if ended == "feedback":
            Referral.objects.filter(pk=world.referral_a2.pk).update(feedback_at=when)
        else:
            Case.objects.filter(pk=world.referral_a2.case_id).update(closed_at=when)
        assert client.get(page).status_code == expected, days
    from xinqiao.access.scope import principal_for

    user = get_user_model().objects.get(pk=world.psychiatrist.pk)
    assert not principal_for(user).students().filter(pk=world.stu_a2.pk).exists()
    inbox = client.get(reverse("cases:referral-inbox")).content.decode()
    assert world.stu_a2.name not in inbox


def test_referral_page_shows_latest_screening_totals_not_answers(world, client_for):
    from xinqiao.screening.models import Assignment

    assignment = Assignment.objects.get(campaign=world.campaign, student=world.stu_a2)
    response = respond(assignment, "PHQ-9", [2, 2, 2, 2, 2, 1, 1, 1, 0, 1])
    html = client_for(world.psychiatrist).get(url("referral-detail", world.referral_a2))
    table = html.content.decode().split('data-testid="screening-totals"', 1)[1].split("</table>")[0]
    assert "PHQ-9" in table
    assert f"{score_label('PHQ-9', 'total')}: {response.scores['total']}" in table
    assert "answers" not in table


def test_inbox_query_count_does_not_grow_with_referrals(world, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.psychiatrist)
    inbox = reverse("cases:referral-inbox")
    client.get(inbox)
    with CaptureQueriesContext(connection) as one:
        client.get(inbox)
    for i in range(5):
        Referral.objects.create(
            case=world.case_a2,
            student=world.stu_a2,
            hospital=world.hospital,
            psychiatrist=world.psychiatrist,
            reason="r",
            consent_basis="guardian_consent",
            status="feedback",
            sent_by=world.psych,
            sent_at=timezone.now(),
            client_key=f"qc-{i}",
        )
    with CaptureQueriesContext(connection) as six:
        response = client.get(inbox)
    table = response.content.decode().split('data-testid="referral-inbox"', 1)[1]
    assert table.split("</table>")[0].count('href="/cases/referrals/') == 6
    assert len(six) == len(one)


def test_a_sent_referral_reads_as_sent_not_as_a_time_in_chinese(world, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    html = (
        client_for(world.psychiatrist)
        .get(reverse("cases:referral-inbox"), HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    assert "<th>发送时间</th>" in html  # the column of the time it was sent
    assert "已发送" in html  # its status
    assert "提交时间" not in html
