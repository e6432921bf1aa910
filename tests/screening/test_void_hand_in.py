"""Voiding a suspicious hand-in (作废) and the re-sit it gives (issue 13).

The psychology teacher of the student's school voids with a required reason (encrypted); the
hand-in is kept but leaves results, counts, trends and alert evaluation; alerts already raised stay
with a note; the student gets a re-sit with a make-up link; everything is audited; a double submit
changes nothing; another school's psychology teacher gets 404, another role 403.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from xinqiao.access.scope import principal_for
from xinqiao.alerts.models import Alert, AlertTrigger, PendingSubmission
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.screening import selectors, services
from xinqiao.screening.models import Assignment, AssignmentStatus, Response, VoidedHandIn
from xinqiao.screening.taking.session import assignment_ref

from .taking_helpers import enter
from .test_campaign import answer

pytestmark = pytest.mark.django_db

REASON = "在三个浏览器上登录过；班主任看到同桌代答"
CRITICAL = {"ASQ": {"1": 1}, "PHQ-A": {"1": 3, "2": 3, "3": 2}}


@pytest.fixture(autouse=True)
def _clear_rate_limit():
    cache.clear()


def _original(world, student=None) -> Assignment:
    return Assignment.objects.get(
        campaign=world.campaign, student=student or world.stu_a1, resit_of=None
    )


def _url(world, student=None) -> str:
    student = student or world.stu_a1
    return reverse(
        "screening:hand-in-void", kwargs={"code": world.campaign.code, "student": student.code}
    )


def _void(client: Client, world, assignment: Assignment, reason: str = REASON):
    return client.post(
        _url(world),
        {"reason": reason, "hand_in": assignment_ref(assignment.pk)},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_the_confirmation_page_shows_the_hand_in_and_its_sign_ins(world, client_for):
    original = _original(world)
    answer(original)
    Assignment.objects.filter(pk=original.pk).update(sign_ins=3)
    html = client_for(world.psych).get(_url(world), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert html.status_code == 200
    text = html.content.decode()
    assert "作废这份答卷" in text
    assert "在 3 个浏览器上登录" in text
    assert assignment_ref(original.pk) in text  # the form names this hand-in
    assert not VoidedHandIn.objects.exists()  # a GET changes nothing


def test_a_void_needs_a_reason_and_a_refusal_changes_nothing(world, client_for):
    original = _original(world)
    answer(original)
    client = client_for(world.psych)
    for reason in ("", "   "):  # blank after stripping, as the form does
        refused = client.post(
            _url(world),
            {"reason": reason, "hand_in": assignment_ref(original.pk)},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
        assert refused.status_code == 400
        assert "请填写作废这份答卷的原因。" in refused.content.decode()
    original.refresh_from_db()
    assert original.status == AssignmentStatus.COMPLETED
    assert not VoidedHandIn.objects.exists()
    assert Assignment.objects.filter(resit_of=original).count() == 0
    assert _events("screening.hand_in.voided") == []
    with pytest.raises(DomainError):
        services.void_hand_in(actor=world.psych, assignment=original, reason="  ")


def test_voiding_keeps_the_answers_out_of_results_gives_a_resit_and_is_audited(world, client_for):
    original = _original(world)
    answer(original, CRITICAL)  # the ASQ "yes" raised an alert
    answer(_original(world, world.stu_a2))
    alert = Alert.objects.get(triggers__response_id__in=original.responses.values("pk"))
    kept = list(Response.objects.filter(assignment=original).values_list("pk", flat=True))
    principal = principal_for(world.psych)

    response = _void(client_for(world.psych), world, original)
    assert response.status_code == 302

    original.refresh_from_db()
    assert original.status == AssignmentStatus.VOID
    # Kept, never deleted; the reason is encrypted at rest and opens through the model.
    assert list(Response.objects.filter(assignment=original).values_list("pk", flat=True)) == kept
    voiding = VoidedHandIn.objects.get(assignment=original)
    assert voiding.reason == REASON
    assert voiding.previous_status == AssignmentStatus.COMPLETED
    assert voiding.voided_by == world.psych
    # values() hands out the ciphertext unopened (core/fields.py: Sealed)
    stored = VoidedHandIn.objects.filter(pk=original.pk).values_list("reason", flat=True)[0].token
    assert REASON not in stored
    assert stored.startswith("v2:")
    # The re-sit, with a personal make-up link.
    resit = voiding.resit
    assert resit.resit_of == original
    assert resit.status == AssignmentStatus.ASSIGNED
    assert resit.link_token
    # Out of results, band counts, aggregates and the trend; marked in the archive.
    rows = selectors.school_results(principal, world.campaign, world.school_a)
    assert [r.student for r in rows] == [world.stu_a2]
    counts = selectors.band_counts(
        world.campaign,
        group="school",
        assignments=Assignment.objects.filter(campaign=world.campaign),
    )
    assert {c.n for c in counts} == {1}
    archive = selectors.list_responses_for_student(principal=principal, student=world.stu_a1)
    assert archive
    assert all(e.voided for e in archive)
    assert selectors.archive_trends(archive)["series"] == []
    # Progress: the student is still to take it (their re-sit), not handed in.
    row = selectors.class_states(principal, world.campaign, world.class_a1)
    assert row is not None
    assert row.completed == 0
    assert row.not_started >= 1
    # The alert already raised stays open, with an audit note and a note on its page.
    alert.refresh_from_db()
    assert alert.status in ("new", "acknowledged")
    noted = _events("alerts.alert.hand_in_voided")
    assert [(e.object_id, e.fields["assignment"]) for e in noted] == [(str(alert.pk), original.pk)]
    page = client_for(world.psych).get(
        reverse("alerts:alert-detail", kwargs={"code": alert.code}), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "心理教师事后已作废这份答卷" in page.content.decode()
    # Audit: the void (never the reason's text) and the re-sit.
    (event,) = _events("screening.hand_in.voided")
    assert event.object_id == str(original.pk)
    assert event.fields["previous_status"] == "completed"
    assert event.fields["resit"] == resit.pk
    assert event.fields["alerts_kept"] == 1
    assert REASON not in str(event.fields)
    assert [e.object_id for e in _events("screening.assignment.resit_assigned")] == [str(resit.pk)]


def test_a_double_submit_voids_once(world, client_for):
    original = _original(world)
    answer(original)
    client = client_for(world.psych)
    first = _void(client, world, original)
    again = client.get(_void(client, world, original)["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert first.status_code == 302
    assert "这份答卷已经作废，未作任何更改。" in again.content.decode()
    assert VoidedHandIn.objects.count() == 1
    assert Assignment.objects.filter(resit_of=original).count() == 1
    assert len(_events("screening.hand_in.voided")) == 1
    assert len(_events("screening.assignment.resit_assigned")) == 1


def test_the_resit_is_taken_with_the_make_up_link_and_counts_as_handed_in(world, client_for):
    from .taking_helpers import full_answers, post_json

    original = _original(world)
    answer(original)
    _void(client_for(world.psych), world, original)
    resit = VoidedHandIn.objects.get(assignment=original).resit
    student = Client()
    assert student.get(f"/take/link/{resit.link_token}/").status_code == 302
    answers = full_answers(resit)
    assert post_json(student, "/take/api/answers/", {"answers": answers}).status_code == 200
    body = {"client_key": "resit-after-void-1", "seq": max(a["n"] for a in answers)}
    assert post_json(student, "/take/api/submit/", body).json()["ok"]
    principal = principal_for(world.psych)
    rows = selectors.school_results(principal, world.campaign, world.school_a)
    assert [r.assignment for r in rows] == [resit]
    row = selectors.class_states(principal, world.campaign, world.class_a1)
    assert row is not None
    assert row.completed == 1


def test_another_schools_psychology_teacher_and_another_role_are_refused(world, client_for):
    original = _original(world)
    answer(original)
    outsider = client_for(world.psych_b)
    assert outsider.get(_url(world)).status_code == 404
    assert _void(outsider, world, original).status_code == 404
    head_teacher = client_for(world.head_teacher)
    assert head_teacher.get(_url(world)).status_code == 403
    assert _void(head_teacher, world, original).status_code == 403
    original.refresh_from_db()
    assert original.status == AssignmentStatus.COMPLETED
    assert not VoidedHandIn.objects.exists()
    with pytest.raises(DomainError):
        services.void_hand_in(actor=world.psych_b, assignment=original, reason=REASON)


def test_only_a_handed_in_questionnaire_is_voided(world, client_for):
    original = _original(world)
    page = client_for(world.psych).get(_url(world), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "没有可作废的已提交答卷。" in page.content.decode()
    response = _void(client_for(world.psych), world, original)
    assert response.status_code == 302
    assert not VoidedHandIn.objects.exists()
    original.refresh_from_db()
    assert original.status == AssignmentStatus.ASSIGNED


def test_a_queued_hand_in_raises_nothing_once_voided(world, settings):
    settings.ALERTS_RAISE_INLINE = False  # production: the worker raises alerts later
    original = _original(world)
    answer(original, CRITICAL)
    assert PendingSubmission.objects.filter(assignment_id=original.pk).exists()
    services.void_hand_in(actor=world.psych, assignment=original, reason=REASON)
    assert not PendingSubmission.objects.filter(assignment_id=original.pk).exists()
    assert not AlertTrigger.objects.filter(response_id__in=original.responses.values("pk")).exists()


def test_the_class_page_shows_sign_ins_from_several_browsers(world, client_for):
    for _ in range(2):
        assert enter(Client(), world.sitting, world.stu_a1).status_code == 302
    html = (
        client_for(world.psych)
        .get(
            reverse(
                "screening:class-progress",
                kwargs={"code": world.campaign.code, "class_code": world.class_a1.code},
            ),
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
        .content.decode()
    )
    assert "在 2 个浏览器上登录" in html
    assert "可能有其他人使用了该学生的个人码。" in html
