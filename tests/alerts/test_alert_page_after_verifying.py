"""The alert page after verifying (issue 12): it links to the case it opened and to the student,
shows the deadline of the level now in force, and each critical item as the question's text and
the answer given."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import respond
from xinqiao.alerts.deadlines import deadlines_for
from xinqiao.alerts.services import evaluate_submission, verify_alert
from xinqiao.alerts.services.escalation import escalation_due_for
from xinqiao.screening.models import Assignment

pytestmark = pytest.mark.django_db


def _local(dt) -> str:
    return timezone.localtime(dt, timezone.get_fixed_timezone(8 * 60)).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def verified(world):
    """stu_a2 answers "yes" to ASQ 1 (orange); the psychology teacher verifies it and raises it
    to red."""
    a = Assignment.objects.get(campaign=world.campaign, student=world.stu_a2)
    [alert] = evaluate_submission(
        assignment_id=a.pk,
        student_id=world.stu_a2.pk,
        school_id=world.stu_a2.school_id,
        stage_band=a.stage_band,
        responses=[respond(a, "ASQ", [1, 0, 0, 0, 0])],
    )
    assert alert.level == "orange"
    orange_verify_by = alert.verify_by
    verify_alert(
        alert,
        actor=world.psych,
        outcome="changed",
        new_level="red",
        reason="访谈中学生说有具体计划",
    )
    alert.refresh_from_db()
    return alert, orange_verify_by


def test_raising_the_level_at_verification_sets_the_new_levels_deadlines(verified):
    alert, orange_verify_by = verified
    red = deadlines_for("red", alert.verified_at)
    assert alert.level == "red"
    assert alert.guardian_informed_by == red.guardian_informed_by  # was None at orange
    assert alert.verify_by != orange_verify_by
    # ... so the red "guardian not informed" escalation applies to it
    assert escalation_due_for(alert, "red_guardian").at == red.guardian_informed_by


def test_the_page_shows_the_deadline_in_force_not_the_old_one(world, client_for, verified):
    alert, orange_verify_by = verified
    page = client_for(world.psych).get(
        reverse("alerts:alert-detail", kwargs={"code": alert.code}),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="alert-guardian-by"' in html
    assert _local(alert.guardian_informed_by) in html
    assert 'data-testid="alert-verify-by"' not in html
    assert _local(orange_verify_by) not in html
    assert 'data-testid="alert-verified-at"' in html


def test_the_page_links_to_the_case_and_the_student(world, client_for, verified):
    alert, _ = verified
    html = client_for(world.psych).get(f"/alerts/{alert.code}/").content.decode()
    assert f'href="{reverse("cases:case-detail", kwargs={"code": world.case_a2.code})}"' in html
    student_url = reverse("people:student-detail", kwargs={"code": world.stu_a2.code})
    assert f'href="{student_url}"' in html


def test_critical_items_read_as_question_and_answer(world, client_for, verified):
    alert, _ = verified
    html = (
        client_for(world.psych)
        .get(f"/alerts/{alert.code}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    critical = html[html.index('data-testid="alert-critical-items"') :]
    critical = critical[: critical.index("</ul>")]
    assert "在过去几周里，你是否希望自己已经死了？" in critical
    assert "“是”" in critical


def test_another_schools_teacher_and_the_wrong_role_still_cannot_open_it(
    world, client_for, verified
):
    alert, _ = verified
    assert client_for(world.psych_b).get(f"/alerts/{alert.code}/").status_code == 404
    assert client_for(world.head_teacher).get(f"/alerts/{alert.code}/").status_code == 403


def test_no_case_link_for_an_alert_that_opened_none(world, client_for):
    html = client_for(world.psych).get(f"/alerts/{world.alert_a1.code}/").content.decode()
    assert 'data-testid="alert-links"' not in html


def test_rules_rule_sets_and_scores_read_as_words_not_codes(world, client_for, verified, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    alert, _ = verified
    html = (
        client_for(world.psych)
        .get(f"/alerts/{alert.code}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    evidence = html[html.index('data-testid="alert-evidence"') :]
    evidence = evidence[: evidence.index("</table>")]
    assert "自杀风险筛查阳性" in evidence  # orange.asq_screen_positive's title
    assert "心桥默认规则（第 2 版）" in html  # not default@2
    assert "ASQ 筛查结果" in evidence  # the score's label, not asq_result
    for code in (">orange.asq_screen_positive<", "default@", "asq_result=", "positive_count="):
        assert code not in html, code


def test_every_default_rule_has_a_title_in_both_languages():
    from xinqiao.alerts.rules import default_rules

    for rule in default_rules()["rules"]:
        assert set(rule["title"]) == {"zh-Hans", "en"}, rule["id"]
