"""Each default rule with hand-made responses, end to end through evaluate_submission."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.conftest import respond
from xinqiao.alerts import rules
from xinqiao.alerts.models import Alert, AlertTrigger
from xinqiao.alerts.services import evaluate_submission
from xinqiao.core.errors import DomainError
from xinqiao.notifications.models import Notification
from xinqiao.screening.models import Assignment

pytestmark = pytest.mark.django_db


def run(world, *responses, student=None):
    student = student or world.stu_a2
    a = responses[0].assignment
    return evaluate_submission(
        assignment_id=a.pk,
        student_id=student.pk,
        school_id=student.school_id,
        stage_band=a.stage_band,
        responses=list(responses),
    )


@pytest.fixture
def assignment(world):
    return Assignment.objects.get(campaign=world.campaign, student=world.stu_a2)


def phq_a(item9=0, total_from_rest=0, twelve=0, thirteen=0):
    # items 1-8 and 10 share `total_from_rest`; item 11 is asked only when any of 1-10 > 0
    rest = [0] * 9
    n = total_from_rest
    for i in range(9):
        rest[i] = min(3, n)
        n -= rest[i]
    answers = [*rest[:8], item9, rest[8]]
    answers.append(0 if any(answers) else None)
    return [*answers, twelve, thirteen]


def test_asq_acuity_yes_is_red(world, assignment):
    [alert] = run(world, respond(assignment, "ASQ", [1, 0, 0, 0, 5]))
    assert alert.level == "red"
    assert {t.rule for t in alert.triggers.all()} == {
        "red.asq_acuity",
        "orange.asq_screen_positive",
    }
    assert alert.ruleset_version == "default@2"
    assert alert.acknowledge_by == alert.level_since + datetime.timedelta(hours=1)


def test_asq_refused_item_counts_as_positive(world, assignment):
    [alert] = run(world, respond(assignment, "ASQ", [0, None, 0, 0, None]))
    assert alert.level == "orange"
    assert "orange.asq_screen_positive" in {t.rule for t in alert.triggers.all()}


def test_asq_past_attempt_with_phq_item9_two_is_red(world, assignment):
    asq = respond(assignment, "ASQ", [0, 0, 0, 1, 0])
    phq = respond(assignment, "PHQ-A", phq_a(item9=2))
    [alert] = run(world, asq, phq)
    assert alert.level == "red"
    assert "red.asq_attempt_with_phq9_item9" in {t.rule for t in alert.triggers.all()}


def test_phq_item9_one_is_orange(world, assignment):
    [alert] = run(world, respond(assignment, "PHQ-A", phq_a(item9=1)))
    assert alert.level == "orange"
    assert alert.triggers.first().rule == "orange.phq_item9"
    assert alert.source == "screening"


def test_phq_a_total_11_at_15_is_yellow(world, assignment):
    world.stu_a2.birth_date = timezone.localdate().replace(year=timezone.localdate().year - 15)
    world.stu_a2.save()
    [alert] = run(world, respond(assignment, "PHQ-A", phq_a(total_from_rest=11)))
    assert alert.level == "yellow"
    assert alert.triggers.get().rule == "yellow.phq_a_11"


def test_phq_a_total_10_is_yellow_only_from_18(world, assignment):
    responses = respond(assignment, "PHQ-A", phq_a(total_from_rest=10))
    assert run(world, responses) == []  # born 2013: under 18
    world.stu_a2.birth_date = datetime.date(2000, 1, 1)
    world.stu_a2.save()
    [alert] = run(world, responses)
    assert alert.level == "yellow"


def test_nothing_raised_for_a_calm_response(world, assignment):
    assert run(world, respond(assignment, "PHQ-A", phq_a())) == []
    assert not Alert.objects.filter(student=world.stu_a2).exists()


def test_invalid_questionnaire_raises_critical_but_yellow_waits(world, assignment):
    phq = respond(assignment, "PHQ-A", phq_a(item9=1, total_from_rest=14), valid=False)
    [alert] = run(world, phq)
    assert alert.level == "orange"
    rules_fired = {t.rule for t in alert.triggers.all()}
    assert "orange.phq_item9" in rules_fired
    assert "yellow.phq_a_11" not in rules_fired
    resit = Assignment.objects.get(resit_of=assignment)
    assert resit.status == "assigned"


def test_alert_and_outbox_are_in_the_submission_transaction(world, assignment):
    [alert] = run(world, respond(assignment, "ASQ", [1, 0, 0, 0, 5]))
    rows = Notification.objects.filter(alert=alert)
    assert [r.recipient for r in rows] == [world.psych]
    assert alert.owner == world.psych


def test_new_trigger_attaches_to_the_open_alert_and_raises_its_level(world, assignment):
    [first] = run(world, respond(assignment, "PHQ-A", phq_a(total_from_rest=12)))
    assert first.level == "yellow"
    again = Assignment.objects.create(
        campaign=world.campaign,
        student=world.stu_a2,
        school=world.school_a,
        resit_of=assignment,
        stage_band=assignment.stage_band,
    )
    [second] = run(world, respond(again, "ASQ", [1, 0, 0, 0, 5]))
    assert second.pk == first.pk
    assert second.level == "red"
    assert Alert.objects.filter(student=world.stu_a2).count() == 1
    assert AlertTrigger.objects.filter(alert=first).count() == 3


def test_rule_schema_refuses_code():
    with pytest.raises(DomainError):
        rules.parse_rules(
            "version: 1\nrules:\n - id: x.y\n   level: red\n   kind: score\n"
            "   when: {python: '__import__(\"os\")'}\n"
        )


def test_default_rules_validate():
    assert rules.default_rules()["version"] == 2


# --- items by meaning (semantic tags) -----------------------------------------------------------


def test_phq_a_past_attempt_with_asq_current_thoughts_is_red(world, assignment):
    # Issue 12: thoughts in the past week (ASQ 3) + "ever attempted" on PHQ-A (item 13) raised
    # only orange while the red rule read ASQ's attempt question alone.
    asq = respond(assignment, "ASQ", [0, 0, 1, 0, 0])
    phq = respond(assignment, "PHQ-A", phq_a(thirteen=1))
    [alert] = run(world, asq, phq)
    assert alert.level == "red"
    trigger = alert.triggers.get(rule="red.asq_attempt_with_phq9_item9")
    assert trigger.level == "red"


def test_phq_a_past_attempt_with_its_own_item9_two_is_red(world, assignment):
    [alert] = run(world, respond(assignment, "PHQ-A", phq_a(item9=2, thirteen=1)))
    assert alert.level == "red"
    assert "red.asq_attempt_with_phq9_item9" in {t.rule for t in alert.triggers.all()}


def test_asq_past_attempt_with_asq_current_thoughts_is_still_red(world, assignment):
    [alert] = run(world, respond(assignment, "ASQ", [0, 0, 1, 1, 0]))
    assert alert.level == "red"
    assert "red.asq_attempt_with_phq9_item9" in {t.rule for t in alert.triggers.all()}


def test_past_attempt_without_current_thoughts_stays_orange(world, assignment):
    [alert] = run(world, respond(assignment, "PHQ-A", phq_a(item9=1, thirteen=1)))
    assert alert.level == "orange"
    assert {t.rule for t in alert.triggers.all()} == {
        "orange.phq_item9",
        "orange.phq_a_suicide_questions",
    }


def test_default_rules_read_suicide_items_by_tag_only():
    # Every suicide-related item of the default rules is read by meaning, so a second instrument
    # asking the same thing counts the same (docs/alert-rules.md).
    def item_conditions(cond):
        if "all" in cond or "any" in cond:
            return [c for sub in cond.get("all") or cond.get("any") for c in item_conditions(sub)]
        return [cond] if "item" in cond else []

    by_id = {r["id"]: r for r in rules.default_rules()["rules"]}
    for rule_id in (
        "red.asq_acuity",
        "red.asq_attempt_with_phq9_item9",
        "orange.phq_item9",
        "orange.phq_a_suicide_questions",
    ):
        assert item_conditions(by_id[rule_id]["when"]) == []
        assert rules.tags_of(by_id[rule_id]["when"])
