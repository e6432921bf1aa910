"""Paper feedback on a referral: a hospital without Xinqiao accounts answers with a letter, and the
case's psychology teacher records it (`record_paper_feedback`) with the scanned letter.

Personas: world.psych runs school A's cases; world.psych_b is school B's psychology teacher;
world.referral_a2 (sent, names world.psychiatrist) is stu_a2's open referral. `red` adds a red case
for stu_a1 that has been red for 15 days, with no referral yet.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.cases import documents
from xinqiao.cases.models import (
    Case,
    CaseDocument,
    ConsentBasis,
    DocumentKind,
    FeedbackSource,
    FollowUp,
    Referral,
    ReferralStatus,
)
from xinqiao.cases.selectors import referrals as selectors
from xinqiao.cases.selectors.lifecycle import case_timeline, step_down_check
from xinqiao.cases.services import referrals as services
from xinqiao.cases.services.common import referral_done
from xinqiao.cases.services.lifecycle import request_step_down
from xinqiao.core.errors import DomainError
from xinqiao.notifications.models import InboxMessage
from xinqiao.notifications.services import dispatch_outbox

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
ADVICE = "建议每周心理随访，减少学业压力"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def red(world):
    """stu_a1's red case, red for 15 days (past the 14-day minimum stay)."""
    since = timezone.now() - datetime.timedelta(days=15)
    world.case_a1 = Case.objects.create(
        student=world.stu_a1,
        school=world.school_a,
        level="red",
        level_since=since,
        owner=world.psych,
        opened_at=since,
        opened_by=world.psych,
        next_follow_up_due=timezone.now() + datetime.timedelta(days=1),
    )
    return world


def letter(data=PDF, name="反馈单.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, data, content_type)


def record(w, referral=None, **overrides):
    kwargs = {
        "actor": w.psych,
        "seen_on": timezone.localdate(),
        "diagnosis_category": "F40-F48",
        "advice_for_school": ADVICE,
        "next_review_on": timezone.localdate() + datetime.timedelta(days=30),
        "letter": letter(),
        "client_key": uuid.uuid4().hex,
    }
    kwargs.update(overrides)
    return services.record_paper_feedback(referral or w.referral_a2, **kwargs)


def refer_red(w):
    return services.refer(
        w.case_a1,
        actor=w.psych,
        hospital=w.hospital,
        reason="自述有自伤念头，需要专科评估",
        consent_basis=ConsentBasis.EMERGENCY,
        emergency_reason="当日自伤风险高",
        client_key=uuid.uuid4().hex,
    )


def stored_files() -> list:
    root = documents._root()
    return sorted(root.iterdir()) if root.exists() else []


def snapshot(referral: Referral) -> tuple:
    referral = Referral.objects.get(pk=referral.pk)
    return (
        referral.status,
        referral.seen_at,
        referral.feedback_at,
        referral.feedback_by_id,
        referral.feedback_source,
        referral.feedback_letter_id,
        referral.feedback_client_key,
        referral.advice_for_school,
    )


def recorded_events() -> int:
    return AuditEvent.objects.filter(action="cases.referral.feedback_recorded").count()


# --- the service ---------------------------------------------------------------------------------
def test_paper_feedback_on_a_sent_referral(world):
    day = timezone.localdate()
    referral = record(world, seen_on=day)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.FEEDBACK
    assert referral.feedback_source == FeedbackSource.PAPER
    assert referral.feedback_by == world.psych
    assert referral.feedback_at is not None
    assert timezone.localtime(referral.seen_at).date() == day
    assert referral.received_at is None  # nobody at the hospital marked it received
    assert referral.diagnosis_category == "F40-F48"
    assert referral.advice_for_school == ADVICE
    assert referral.next_review_on == timezone.localdate() + datetime.timedelta(days=30)


def test_the_letter_is_stored_encrypted(world, settings):
    referral = record(world)
    doc = referral.feedback_letter
    assert doc.kind == DocumentKind.REFERRAL_FEEDBACK
    assert doc.case == world.case_a2
    assert doc.content_type == "application/pdf"
    assert doc.uploaded_by == world.psych
    assert documents.read_document(doc) == PDF
    raw = (documents._root() / doc.storage_name).read_bytes()
    assert PDF not in raw
    assert b"%PDF" not in raw


def test_a_photo_of_the_letter_is_accepted(world):
    referral = record(world, letter=letter(JPEG, "反馈单.jpg", "image/jpeg"))
    assert referral.feedback_letter.content_type == "image/jpeg"


def test_the_audit_event_carries_no_clinical_text(world):
    referral = record(world)
    event = AuditEvent.objects.get(action="cases.referral.feedback_recorded")
    assert event.actor_id == world.psych.pk
    assert event.school_id == world.school_a.pk
    assert event.object_id == str(referral.pk)
    assert event.fields["status"] == ["sent", "feedback"]
    assert event.fields["source"] == "paper"
    assert event.fields["letter"] == str(referral.feedback_letter.code)
    assert event.fields["diagnosis_stated"] is True
    text = str(event.fields)
    assert "F40" not in text
    assert "学业" not in text
    assert not AuditEvent.objects.filter(action="cases.referral.feedback_given").exists()


def test_a_visit_the_psychiatrist_recorded_is_kept(world):
    referral = world.referral_a2
    services.mark_received(referral, actor=world.psychiatrist)
    seen_day = timezone.localdate() - datetime.timedelta(days=1)
    referral.sent_at = timezone.now() - datetime.timedelta(days=3)
    referral.save(update_fields=["sent_at"])
    services.mark_seen(referral, actor=world.psychiatrist, seen_on=seen_day)
    seen_at = Referral.objects.get(pk=referral.pk).seen_at
    recorded = record(world, seen_on=None)
    recorded.refresh_from_db()
    assert recorded.seen_at == seen_at
    assert recorded.received_at is not None
    assert recorded.status == ReferralStatus.FEEDBACK
    event = AuditEvent.objects.get(action="cases.referral.feedback_recorded")
    assert event.fields["status"] == ["seen", "feedback"]
    assert event.fields["seen_on"] is None


def test_repeated_key_returns_the_referral_unchanged(world, settings):
    key = uuid.uuid4().hex
    first = record(world, client_key=key)
    before = snapshot(first)
    again = record(world, client_key=key, advice_for_school="另一份建议", letter=letter())
    assert again.pk == first.pk
    assert snapshot(first) == before
    assert CaseDocument.objects.filter(kind=DocumentKind.REFERRAL_FEEDBACK).count() == 1
    assert len(stored_files()) == 1
    assert recorded_events() == 1


def test_a_new_key_after_feedback_is_refused(world):
    record(world)
    with pytest.raises(DomainError, match="already been given"):
        record(world)
    assert recorded_events() == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 65])
def test_a_stale_form_is_refused(world, key):
    with pytest.raises(DomainError, match="expired"):
        record(world, client_key=key)
    assert snapshot(world.referral_a2)[0] == ReferralStatus.SENT


@pytest.mark.parametrize(
    "who", ["psych_b", "head_teacher", "head_teacher_b", "school_admin", "psychiatrist"]
)
def test_only_a_handler_of_the_case_may_record(world, settings, who):
    before = snapshot(world.referral_a2)
    with pytest.raises(PermissionDenied):
        record(world, actor=getattr(world, who))
    assert snapshot(world.referral_a2) == before
    assert stored_files() == []
    assert recorded_events() == 0


def test_a_cancelled_referral_takes_no_feedback(world):
    services.cancel_referral(world.referral_a2, actor=world.psych, reason="not_needed")
    with pytest.raises(DomainError, match="cancelled"):
        record(world)
    assert snapshot(world.referral_a2)[0] == ReferralStatus.CANCELLED
    assert recorded_events() == 0


def test_feedback_the_psychiatrist_gave_cannot_be_overwritten(world):
    referral = world.referral_a2
    services.mark_received(referral, actor=world.psychiatrist)
    services.mark_seen(referral, actor=world.psychiatrist, seen_on=timezone.localdate())
    services.give_feedback(referral, actor=world.psychiatrist, advice_for_school="医生的建议")
    before = snapshot(referral)
    assert before[4] == FeedbackSource.PSYCHIATRIST
    with pytest.raises(DomainError, match="already been given"):
        record(world)
    assert snapshot(referral) == before


def test_the_psychiatrist_cannot_give_feedback_after_the_letter(world):
    referral = world.referral_a2
    services.mark_received(referral, actor=world.psychiatrist)
    record(world)
    with pytest.raises(DomainError):
        services.give_feedback(referral, actor=world.psychiatrist, advice_for_school="晚到的建议")
    assert Referral.objects.get(pk=referral.pk).advice_for_school == ADVICE


def test_the_letter_is_required(world, settings):
    with pytest.raises(DomainError) as exc:
        record(world, letter=None)
    assert exc.value.field == "letter"
    assert snapshot(world.referral_a2)[0] == ReferralStatus.SENT
    assert not CaseDocument.objects.exists()


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00 not a scan at all", "反馈单.pdf"),  # a program renamed to .pdf
        (b"<html><script>alert(1)</script></html>", "letter.jpg"),
        (b"GIF89a\x01\x00\x01\x00", "letter.png"),
    ],
)
def test_a_forged_letter_is_rejected(world, settings, data, name):
    before = snapshot(world.referral_a2)
    with pytest.raises(DomainError) as exc:
        record(world, letter=letter(data, name, "application/pdf"))
    assert exc.value.field == "file"
    assert snapshot(world.referral_a2) == before
    assert not CaseDocument.objects.exists()
    assert stored_files() == []
    assert recorded_events() == 0


def test_an_oversized_letter_is_rejected(world, settings, monkeypatch):
    monkeypatch.setattr(documents, "MAX_BYTES", len(PDF) - 1)
    with pytest.raises(DomainError, match="10 MB"):
        record(world)
    assert stored_files() == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"diagnosis_category": "F99"}, "diagnosis_category"),
        ({"advice_for_school": "   "}, "advice_for_school"),
        ({"advice_for_school": "长" * (services.ADVICE_MAX + 1)}, "advice_for_school"),
        ({"next_review_on": datetime.date(2020, 1, 1)}, "next_review_on"),
        ({"seen_on": None}, "seen_on"),
        ({"seen_on": datetime.date(2099, 1, 1)}, "seen_on"),
        ({"seen_on": datetime.date(2020, 1, 1)}, "seen_on"),  # before the referral was sent
    ],
)
def test_validation_errors_change_nothing(world, settings, overrides, field):
    before = snapshot(world.referral_a2)
    with pytest.raises(DomainError) as exc:
        record(world, **overrides)
    assert exc.value.field == field
    assert snapshot(world.referral_a2) == before
    assert not CaseDocument.objects.exists()
    assert stored_files() == []
    assert recorded_events() == 0
    assert not InboxMessage.objects.exists()


def test_the_same_checks_as_the_psychiatrists_feedback(world):
    """One helper checks both: the same messages for the same mistakes."""
    referral = world.referral_a2
    services.mark_received(referral, actor=world.psychiatrist)
    services.mark_seen(referral, actor=world.psychiatrist, seen_on=timezone.localdate())
    for overrides in (
        {"diagnosis_category": "F99"},
        {"advice_for_school": ""},
        {"next_review_on": datetime.date(2020, 1, 1)},
    ):
        kwargs = {"advice_for_school": ADVICE, **overrides}
        with pytest.raises(DomainError) as given:
            services.give_feedback(referral, actor=world.psychiatrist, **kwargs)
        with pytest.raises(DomainError) as recorded:
            record(world, **overrides)
        assert (given.value.field, given.value.message) == (
            recorded.value.field,
            recorded.value.message,
        )


# --- it counts wherever the psychiatrist's feedback counts ---------------------------------------
def test_the_owner_is_notified_without_clinical_detail(world):
    record(world)
    dispatch_outbox()
    messages = list(InboxMessage.objects.filter(recipient=world.psych))
    feedback = [m for m in messages if m.url == f"/cases/{world.case_a2.code}/"]
    assert len(feedback) == 1
    assert "Hospital feedback on a referral" in feedback[0].subject
    assert "学业" not in feedback[0].subject
    assert world.stu_a2.name not in feedback[0].subject


def test_a_red_case_goes_from_daily_to_weekly(red):
    case = red.case_a1
    last = timezone.now() - datetime.timedelta(hours=3)
    FollowUp.objects.create(
        case=case,
        done_at=last,
        method="interview",
        trend="stable",
        level_at_time="red",
        note="n",
        recorded_by=red.psych,
        client_key="fu-red",
        created_at=last,
    )
    referral = refer_red(red)
    assert not referral_done(case)
    record(red, referral)
    case.refresh_from_db()
    assert referral_done(case)
    assert case.next_follow_up_due == last + datetime.timedelta(days=7)


def test_paper_feedback_counts_for_the_red_step_down(red):
    case = red.case_a1
    referral = refer_red(red)
    check = step_down_check(case)
    assert [r.key for r in check.rules if not r.met] == ["hospital_opinion"]
    record(red, referral)
    check = step_down_check(case)
    assert check.ok
    opinion = next(r for r in check.rules if r.key == "hospital_opinion")
    assert opinion.evidence == {"referral": str(referral.code)}
    request = request_step_down(case, actor=red.psych, reason="医院反馈单：病情稳定")
    assert (request.from_level, request.to_level) == ("red", "orange")
    assert request.evidence["hospital_opinion"]["referral"] == str(referral.code)


def test_no_longer_awaiting_feedback_and_a_new_referral_may_follow(red):
    referral = refer_red(red)
    principal = principal_for(red.psych)
    assert referral in selectors.awaiting_feedback(principal)
    record(red, referral)
    assert referral not in selectors.awaiting_feedback(principal)
    assert selectors.open_referral(red.case_a1) is None
    assert refer_red(red).status == ReferralStatus.SENT


def test_the_case_timeline_says_it_came_on_paper(world):
    record(world)
    entries = [e for e in case_timeline(world.case_a2, include_notes=True) if e.kind == "referral"]
    paper = [e for e in entries if "recorded from its letter" in e.summary]
    assert len(paper) == 1
    assert paper[0].actor == "甲校心理老师"
    assert paper[0].note == ADVICE


# --- the page ------------------------------------------------------------------------------------
def url(referral):
    return reverse("cases:referral-paper-feedback", kwargs={"code": referral.code})


def case_page(world):
    return reverse("cases:case-detail", kwargs={"code": world.case_a2.code})


def form_data(**overrides):
    data = {
        "seen_on": timezone.localdate().isoformat(),
        "diagnosis_category": "",
        "advice_for_school": ADVICE,
        "next_review_on": "",
        "letter": letter(),
        "client_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def test_the_handler_gets_the_form(world, client_for):
    response = client_for(world.psych).get(url(world.referral_a2))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="paper-feedback-form"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'name="client_key"' in html
    assert 'type="hidden"' in html
    assert 'name="letter"' in html
    assert 'name="seen_on"' in html


def test_the_case_panel_links_to_the_form_for_the_handler_only(world, client_for):
    html = client_for(world.psych).get(case_page(world)).content.decode()
    assert url(world.referral_a2) in html
    leader = client_for(world.school_admin).get(case_page(world)).content.decode()
    assert url(world.referral_a2) not in leader


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("psych_b", 404),
        ("head_teacher", 403),
        ("head_teacher_b", 403),
        ("school_admin", 403),
        ("station_counsellor", 403),
        ("psychiatrist", 403),
    ],
)
def test_the_page_refuses_others(world, client_for, settings, who, status):
    client = client_for(getattr(world, who))
    assert client.get(url(world.referral_a2)).status_code == status
    assert client.post(url(world.referral_a2), form_data()).status_code == status
    assert snapshot(world.referral_a2)[0] == ReferralStatus.SENT
    assert stored_files() == []


def test_posting_the_letter_stores_it_encrypted(world, client_for, settings):
    client = client_for(world.psych)
    response = client.post(url(world.referral_a2), form_data())
    assert response.status_code == 302
    assert response["Location"] == case_page(world)
    referral = Referral.objects.get(pk=world.referral_a2.pk)
    assert referral.status == ReferralStatus.FEEDBACK
    assert referral.feedback_source == FeedbackSource.PAPER
    doc = referral.feedback_letter
    assert documents.read_document(doc) == PDF
    assert PDF not in (documents._root() / doc.storage_name).read_bytes()
    html = client.get(case_page(world)).content.decode()
    assert "recorded from the hospital's letter by 甲校心理老师" in html
    assert reverse("cases:document", kwargs={"code": doc.code}) in html
    assert ADVICE in html
    assert url(referral) not in html  # no second recording
    again = client.get(url(referral)).content.decode()
    assert 'data-testid="paper-feedback-form"' not in again
    assert 'data-testid="paper-feedback-closed"' in again


def test_a_double_submit_records_once(world, client_for, settings):
    client = client_for(world.psych)
    key = uuid.uuid4().hex
    assert client.post(url(world.referral_a2), form_data(client_key=key)).status_code == 302
    assert client.post(url(world.referral_a2), form_data(client_key=key)).status_code == 302
    assert CaseDocument.objects.count() == 1
    assert recorded_events() == 1


def test_a_refused_post_keeps_the_form(world, client_for, settings):
    client = client_for(world.psych)
    forged = form_data(letter=letter(b"just text", "反馈单.pdf", "application/pdf"))
    response = client.post(url(world.referral_a2), forged)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Upload a PDF, JPEG or PNG file." in html
    assert ADVICE in html
    missing = client.post(url(world.referral_a2), form_data(letter=""))
    assert missing.status_code == 200
    assert snapshot(world.referral_a2)[0] == ReferralStatus.SENT
    assert stored_files() == []


def test_a_seen_referral_does_not_ask_for_the_visit_again(world, client_for):
    referral = world.referral_a2
    services.mark_received(referral, actor=world.psychiatrist)
    services.mark_seen(referral, actor=world.psychiatrist, seen_on=timezone.localdate())
    client = client_for(world.psych)
    assert 'name="seen_on"' not in client.get(url(referral)).content.decode()
    data = form_data()
    del data["seen_on"]
    assert client.post(url(referral), data).status_code == 302
    assert Referral.objects.get(pk=referral.pk).feedback_source == FeedbackSource.PAPER


def test_the_psychiatrists_page_names_the_teacher(world, client_for):
    record(world)
    html = client_for(world.psychiatrist).get(
        reverse("cases:referral-detail", kwargs={"code": world.referral_a2.code})
    )
    assert html.status_code == 200
    text = html.content.decode()
    assert 'data-testid="feedback-source"' in text
    assert "甲校心理老师" in text
    assert "Your feedback" not in text
