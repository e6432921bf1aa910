"""The dry run for rule editors (issue 12): `manage.py explain_rules` and the rule-set editor page
evaluate one student's typed answers without storing anything."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from django.core.management import CommandError, call_command

from tests.conftest import _user
from xinqiao.access.roles import Role
from xinqiao.alerts.models import Alert, RuleSet
from xinqiao.alerts.rules import default_source
from xinqiao.alerts.services import save_ruleset

pytestmark = pytest.mark.django_db

PHQ_A_ATTEMPT = "0,0,0,0,0,0,0,0,0,0,,0,1"  # item 13 "ever attempted": yes
ASQ_THOUGHTS = "0,0,1,0,0"  # item 3 thoughts in the past week: yes
EDITOR = "/alerts/rules/new/"


def explain(*args: str) -> str:
    out = io.StringIO()
    lang = () if "--lang" in args else ("--lang", "zh-hans")
    call_command("explain_rules", *args, *lang, stdout=out)
    return out.getvalue()


def test_json_names_the_level_and_every_rule_that_fired_with_a_reason():
    out = explain(
        "--stage", "junior", "--answers", f"ASQ={ASQ_THOUGHTS}", "--answers",
        f"PHQ-A={PHQ_A_ATTEMPT}", "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert set(data) == {"level", "fired"}
    assert data["level"] == "red"
    rules = {f["rule"]: f for f in data["fired"]}
    assert set(rules) == {
        "red.asq_attempt_with_phq9_item9",
        "orange.asq_screen_positive",
        "orange.phq_a_suicide_questions",
    }
    assert data["fired"][0]["rule"] == "red.asq_attempt_with_phq9_item9"  # highest level first
    reason = rules["red.asq_attempt_with_phq9_item9"]["reason"]
    assert "PHQ-A 第13题" in reason
    assert "ASQ 第3题" in reason
    assert "你是否曾经试图自杀或有过自杀未遂" in reason  # the question's text, and the answer
    assert "：是" in reason
    assert Alert.objects.count() == 0  # nothing stored


def test_json_with_nothing_firing_is_level_none():
    data = json.loads(explain("--stage", "junior", "--answers", "GAD-7=0,0,0,0,0,0,0", "--json"))
    assert data == {"level": "none", "fired": []}


def test_score_rules_give_the_score_and_threshold():
    data = json.loads(explain("--stage", "junior", "--answers", "GAD-7=2,2,2,2,1,1,1", "--json"))
    assert data["level"] == "yellow"
    [fired] = data["fired"]
    assert fired["rule"] == "yellow.gad7_10"
    assert "= 11" in fired["reason"]
    assert "≥ 10" in fired["reason"]


def test_the_readable_report_is_in_chinese():
    out = explain("--stage", "junior", "--answers", f"PHQ-A={PHQ_A_ATTEMPT}")
    assert "等级：橙色" in out
    assert "orange.phq_a_suicide_questions" in out
    english = explain("--stage", "junior", "--answers", f"PHQ-A={PHQ_A_ATTEMPT}", "--lang", "en")
    assert "Level: orange" in english
    assert "Have you EVER, in your WHOLE LIFE" in english


@pytest.mark.parametrize(
    "answers",
    ["GAD-7=0,x,0,0,0,0,0", "GAD-7=0,0", "NOPE=1", "GAD-7", "GAD-7=0,0,0,0,0,0,9"],
)
def test_bad_answers_are_refused_with_status_2(answers):
    with pytest.raises(CommandError) as caught:
        explain("--stage", "junior", "--answers", answers, "--json")
    assert caught.value.returncode == 2


def test_a_saved_rule_set_by_code_and_its_stage(world):
    saved = save_ruleset(
        actor=world.city_admin,
        unit=world.city,
        stage="senior",
        source=yaml.safe_dump(
            {
                "version": 1,
                "rules": [
                    {
                        "id": "red.any_past_attempt",
                        "level": "red",
                        "kind": "critical",
                        "when": {"tag": "suicide.past_attempt", "op": "ge", "value": 1},
                    }
                ],
            }
        ),
    )
    args = ["--rule-set", str(saved.code), "--answers", f"PHQ-A={PHQ_A_ATTEMPT}", "--json"]
    data = json.loads(explain("--stage", "senior", *args))
    assert [f["rule"] for f in data["fired"]] == ["red.any_past_attempt"]
    assert data["level"] == "red"
    with pytest.raises(CommandError):
        explain("--stage", "junior", *args)  # a senior-only version
    with pytest.raises(CommandError):
        explain("--stage", "senior", "--rule-set", "not-a-code", "--answers", "GAD-7=0,0,0,0,0,0,0")


# --- the editor page ------------------------------------------------------------------------------


def _dry_run_post(world, **answers):
    data = {
        "dry_run": "1",
        "unit": world.district_a.pk,
        "stage": "junior",
        "note": "",
        "source": default_source(),
        "age": "",
    }
    data.update({f"answers_{code}": text for code, text in answers.items()})
    return data


def test_the_editor_shows_the_level_and_the_reasons_without_saving(world, client_for):
    before = RuleSet.objects.count()
    page = client_for(world.district_admin).post(
        EDITOR,
        _dry_run_post(world, **{"PHQ-A": PHQ_A_ATTEMPT, "ASQ": ASQ_THOUGHTS}),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-level="red"' in html
    assert 'data-rule="red.asq_attempt_with_phq9_item9"' in html
    assert "你是否曾经试图自杀或有过自杀未遂" in html
    assert RuleSet.objects.count() == before
    assert Alert.objects.filter(student=world.stu_a2).count() == 0


def test_the_editor_tries_the_text_being_edited(world, client_for):
    edited = yaml.safe_dump(
        {
            "version": 1,
            "rules": [
                {
                    "id": "yellow.any_thoughts",
                    "level": "yellow",
                    "kind": "critical",
                    "when": {"tag": "suicide.current_thoughts", "op": "ge", "value": 1},
                }
            ],
        }
    )
    data = _dry_run_post(world, ASQ=ASQ_THOUGHTS)
    data["source"] = edited
    html = client_for(world.district_admin).post(EDITOR, data).content.decode()
    assert 'data-level="yellow"' in html
    assert 'data-rule="yellow.any_thoughts"' in html


def test_the_editor_reports_bad_answers_and_an_unknown_tag(world, client_for):
    client = client_for(world.district_admin)
    bad = client.post(EDITOR, _dry_run_post(world, **{"GAD-7": "0,0"})).content.decode()
    assert 'class="alert alert-danger py-2" role="alert"><div>GAD-7' in bad
    assert 'data-testid="dry-run-result"' not in bad
    data = _dry_run_post(world, ASQ=ASQ_THOUGHTS)
    data["source"] = default_source().replace("suicide.current_thoughts", "suicide.thoughts_now")
    html = client.post(EDITOR, data).content.decode()
    assert "suicide.thoughts_now" in html
    assert 'data-testid="dry-run-result"' not in html


def test_the_editor_starts_from_a_saved_version_of_its_own_area_only(world, client_for):
    saved = save_ruleset(
        actor=world.district_admin, unit=world.district_a, stage="", source=default_source()
    )
    assert (
        client_for(world.district_admin).get(f"{EDITOR}?rule_set={saved.code}").status_code == 200
    )
    other_district = _user("district_admin_b", "乙区管理员", world.district_b, Role.DISTRICT_ADMIN)
    other = client_for(other_district)
    assert other.get(f"{EDITOR}?rule_set={saved.code}").status_code == 404
    response = other.post(f"{EDITOR}?rule_set={saved.code}", _dry_run_post(world, ASQ=ASQ_THOUGHTS))
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["psych", "head_teacher", "school_admin"])
def test_the_dry_run_refuses_the_wrong_role(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(EDITOR).status_code == 403
    assert client.post(EDITOR, _dry_run_post(world, ASQ=ASQ_THOUGHTS)).status_code == 403
