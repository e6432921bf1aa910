"""Edge cases of the rule language (rules.evaluate on hand-made facts), its validation, and which
rule set is in force (rules.ruleset_for); the default rules end to end are in test_rules."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.factories import DistrictFactory, SchoolFactory, StaffFactory
from xinqiao.access.roles import Role
from xinqiao.alerts import rules
from xinqiao.alerts.services import save_ruleset
from xinqiao.core.errors import DomainError


def inst(
    code: str,
    items: dict[str, int | None] | None = None,
    *,
    scores: dict[str, float | None] | None = None,
    missing: tuple[str, ...] = (),
    critical: tuple[str, ...] = (),
    valid: bool = True,
) -> rules.InstrumentFacts:
    return rules.InstrumentFacts(
        code=code,
        items=items or {},
        scores=scores or {},
        missing=frozenset(missing),
        critical_ids=frozenset(critical),
        valid=valid,
    )


def facts(*instruments: rules.InstrumentFacts, age: Any = lambda: None) -> rules.Facts:
    return rules.Facts({i.code: i for i in instruments}, age)


def ruleset(*rule_list: dict[str, Any]) -> dict[str, Any]:
    data = {"version": 1, "rules": list(rule_list)}
    rules.validate_rules(data)
    return data


def rule(rule_id: str, when: dict[str, Any], *, level="orange", kind="critical") -> dict[str, Any]:
    return {"id": rule_id, "level": level, "kind": kind, "when": when}


# --- conditions --------------------------------------------------------------------------------


def test_an_unanswered_item_never_matches_a_comparison():
    rs = ruleset(rule("o.low", {"item": "X", "id": "1", "op": "le", "value": 0}))
    assert rules.evaluate(rs, facts(inst("X", {"1": None}))).hits == []
    assert rules.evaluate(rs, facts(inst("Y", {"1": 0}))).hits == []  # instrument not taken
    assert [h.rule for h in rules.evaluate(rs, facts(inst("X", {"1": 0}))).hits] == ["o.low"]


@pytest.mark.parametrize(("op", "fires_at_equal"), [("ge", True), ("gt", False), ("eq", True)])
def test_comparisons_at_the_threshold(op, fires_at_equal):
    rs = ruleset(rule("o.s", {"score": "X", "name": "total", "op": op, "value": 10}, kind="score"))
    hits = rules.evaluate(rs, facts(inst("X", scores={"total": 10}))).hits
    assert bool(hits) is fires_at_equal


def test_any_names_every_instrument_that_matched():
    rs = ruleset(
        rule(
            "o.any",
            {
                "any": [
                    {"item": "A", "id": "1", "op": "ge", "value": 1},
                    {"item": "B", "id": "1", "op": "ge", "value": 1},
                    {"item": "C", "id": "1", "op": "ge", "value": 1},
                ]
            },
        )
    )
    taken = facts(inst("A", {"1": 2}), inst("B", {"1": 0}), inst("C", {"1": 1}))
    [hit] = rules.evaluate(rs, taken).hits
    assert hit.instruments == ("A", "C")


@pytest.mark.xfail(
    strict=True,
    reason="_test adds an instrument to the evidence as soon as one of its conditions matches, "
    "even inside an `all` that fails, so the hit names an instrument that did not fire it",
)
def test_a_failed_all_branch_adds_nothing_to_the_evidence():
    rs = ruleset(
        rule(
            "o.mixed",
            {
                "any": [
                    {
                        "all": [
                            {"item": "A", "id": "1", "op": "ge", "value": 1},
                            {"item": "B", "id": "1", "op": "ge", "value": 3},
                        ]
                    },
                    {"item": "C", "id": "1", "op": "ge", "value": 1},
                ]
            },
        )
    )
    taken = facts(inst("A", {"1": 1}), inst("B", {"1": 0}), inst("C", {"1": 1}))
    [hit] = rules.evaluate(rs, taken).hits
    assert hit.instruments == ("C",)


def test_missing_fires_only_on_the_listed_items():
    rs = ruleset(rule("o.m", {"missing": "A", "ids": ["1", "2"]}))
    assert rules.evaluate(rs, facts(inst("A", missing=("3",)))).hits == []
    [hit] = rules.evaluate(rs, facts(inst("A", missing=("2", "3")))).hits
    assert hit.instruments == ("A",)


def test_critical_missing_of_any_instrument_names_each_one():
    rs = ruleset(rule("o.cm", {"critical_missing": "*"}))
    taken = facts(
        inst("A", missing=("9",), critical=("9",)),
        inst("B", missing=("1",), critical=("9",)),  # a non-critical item skipped
        inst("C", missing=("5",), critical=("5",), valid=False),  # critical: read when invalid
    )
    [hit] = rules.evaluate(rs, taken).hits
    assert hit.instruments == ("A", "C")
    only_b = ruleset(rule("o.cm", {"critical_missing": "B"}))
    assert rules.evaluate(only_b, taken).hits == []


def test_age_is_read_once_and_only_when_a_rule_asks():
    calls: list[int] = []

    def age() -> int:
        calls.append(1)
        return 16

    a_one = {"item": "A", "id": "1", "op": "ge", "value": 1}
    no_age = ruleset(rule("o.a", a_one))
    rules.evaluate(no_age, facts(inst("A", {"1": 1}), age=age))
    assert calls == []
    with_age = ruleset(
        rule("o.young", {"age": "lt", "value": 18}),
        rule("y.old", {"all": [{"age": "ge", "value": 18}, a_one]}, level="yellow", kind="score"),
        rule("y.teen", {"all": [{"age": "ge", "value": 13}, a_one]}, level="yellow", kind="score"),
    )
    outcome = rules.evaluate(with_age, facts(inst("A", {"1": 1}, valid=False), age=age))
    assert [h.rule for h in outcome.hits] == ["o.young"]
    assert [h.rule for h in outcome.held] == ["y.teen"]
    assert calls == [1]


def test_unknown_age_matches_no_age_rule():
    rs = ruleset(rule("o.young", {"age": "lt", "value": 18}))
    assert rules.evaluate(rs, facts(inst("A"))).hits == []


# --- held score rules --------------------------------------------------------------------------


def test_a_score_rule_met_by_a_valid_instrument_is_not_also_held():
    rs = ruleset(
        rule(
            "y.any",
            {
                "any": [
                    {"score": "A", "name": "total", "op": "ge", "value": 10},
                    {"score": "B", "name": "total", "op": "ge", "value": 10},
                ]
            },
            level="yellow",
            kind="score",
        )
    )
    both = facts(inst("A", scores={"total": 12}), inst("B", scores={"total": 15}, valid=False))
    outcome = rules.evaluate(rs, both)
    assert [(h.rule, h.instruments) for h in outcome.hits] == [("y.any", ("A",))]
    assert outcome.held == []


def test_nothing_is_held_when_every_instrument_is_valid():
    rs = ruleset(rule("y.s", {"score": "A", "name": "t", "op": "ge", "value": 1}, kind="score"))
    outcome = rules.evaluate(rs, facts(inst("A", scores={"t": 0})))
    assert (outcome.hits, outcome.held) == ([], [])


def test_a_score_rule_on_an_invalid_instrument_is_held_not_fired():
    rs = ruleset(rule("y.s", {"score": "A", "name": "t", "op": "ge", "value": 1}, kind="score"))
    outcome = rules.evaluate(rs, facts(inst("A", scores={"t": 5}, valid=False)))
    assert outcome.hits == []
    assert [(h.rule, h.level, h.instruments) for h in outcome.held] == [("y.s", "orange", ("A",))]


# --- validation --------------------------------------------------------------------------------


def test_invalid_yaml_is_a_domain_error():
    with pytest.raises(DomainError, match="not valid YAML"):
        rules.parse_rules("version: 1\nrules: [\n")


def test_the_schema_error_names_where_it_is():
    source = yaml.safe_dump(
        {"version": 1, "rules": [rule("o.a", {"item": "A", "id": "1", "op": "ne", "value": 1})]}
    )
    with pytest.raises(DomainError, match="rules/0/when"):
        rules.parse_rules(source)


def test_two_rules_with_one_id_are_refused():
    when = {"item": "A", "id": "1", "op": "ge", "value": 1}
    with pytest.raises(DomainError, match="same id"):
        rules.validate_rules({"version": 1, "rules": [rule("o.a", when), rule("o.a", when)]})


def test_default_rules_are_a_copy():
    first = rules.default_rules()
    first["rules"].clear()
    assert rules.default_rules()["rules"]


# --- which rule set is in force ----------------------------------------------------------------


def _source(version_note: str) -> str:
    return yaml.safe_dump(
        {
            "version": 1,
            "name": version_note,
            "rules": [rule("o.a", {"item": "A", "id": "1", "op": "ge", "value": 1})],
        }
    )


@pytest.mark.django_db
def test_the_most_specific_unit_wins_then_the_exact_stage_then_the_newest_version():
    district = DistrictFactory()
    other_district = DistrictFactory(parent=district.parent)
    city = district.parent
    school = SchoolFactory(parent=district)
    other_school = SchoolFactory(parent=other_district)
    city_admin = StaffFactory(role=Role.CITY_ADMIN, org_unit=city).user
    district_admin = StaffFactory(role=Role.DISTRICT_ADMIN, org_unit=district).user

    def in_force(school_unit, stage="junior") -> str:
        return rules.ruleset_for(school_id=school_unit.pk, stage=stage).definition.get("name", "")

    assert rules.ruleset_for(school_id=school.pk, stage="junior").unit_path == ""  # the default
    save_ruleset(actor=city_admin, unit=city, stage="junior", source=_source("city junior"))
    assert in_force(school) == "city junior"
    assert in_force(school, "senior").startswith("Xinqiao default")
    save_ruleset(actor=district_admin, unit=district, stage="", source=_source("district all"))
    # the district's every-stage rules beat the city's junior rules in that district only
    assert in_force(school) == "district all"
    assert in_force(school, "senior") == "district all"
    assert in_force(other_school) == "city junior"
    save_ruleset(actor=district_admin, unit=district, stage="junior", source=_source("d junior"))
    assert in_force(school) == "d junior"
    save_ruleset(actor=district_admin, unit=district, stage="junior", source=_source("d junior 2"))
    assert in_force(school) == "d junior 2"
    assert rules.ruleset_for(school_id=school.pk, stage="junior").label.endswith("junior@2")


@pytest.mark.django_db
def test_save_ruleset_refuses_a_school_and_an_unknown_stage():
    school = SchoolFactory()
    city_admin = StaffFactory(role=Role.CITY_ADMIN, org_unit=school.parent.parent).user
    with pytest.raises(DomainError):
        save_ruleset(actor=city_admin, unit=school, stage="", source=_source("x"))
    with pytest.raises(DomainError):
        save_ruleset(
            actor=city_admin, unit=school.parent, stage="kindergarten", source=_source("x")
        )


# --- semantic tags -------------------------------------------------------------------------------


def test_a_tag_rule_counts_any_instruments_item_with_the_tag():
    rs = ruleset(rule("red.attempt", {"tag": "suicide.past_attempt", "op": "ge", "value": 1}))
    x = rules.InstrumentFacts(
        code="X",
        items={"7": 1},
        scores={},
        missing=frozenset(),
        critical_ids=frozenset(),
        valid=True,
        tags={"suicide.past_attempt": ("7",)},
    )
    y = rules.InstrumentFacts(
        code="Y",
        items={"2": 1, "3": 0},
        scores={},
        missing=frozenset(),
        critical_ids=frozenset(),
        valid=True,
        tags={"suicide.past_attempt": ("3",)},  # item 2 is "yes" but means something else
    )
    [hit] = rules.evaluate(rs, facts(x)).hits
    assert (hit.rule, hit.instruments) == ("red.attempt", ("X",))
    assert rules.evaluate(rs, facts(y)).hits == []
    assert rules.evaluate(rs, facts(inst("Z", {"1": None}))).hits == []


@pytest.mark.django_db
def test_a_custom_rule_set_with_a_tag_rule_raises_from_phq_a(world):
    from tests.conftest import respond
    from xinqiao.alerts.services import evaluate_submission
    from xinqiao.screening.models import Assignment

    district_admin = StaffFactory(role=Role.DISTRICT_ADMIN, org_unit=world.district_a).user
    save_ruleset(
        actor=district_admin,
        unit=world.district_a,
        stage="",
        source=yaml.safe_dump(
            {
                "version": 1,
                "rules": [
                    {
                        "id": "yellow.any_past_attempt",
                        "level": "yellow",
                        "kind": "critical",
                        "when": {"tag": "suicide.past_attempt", "op": "ge", "value": 1},
                    }
                ],
            }
        ),
    )
    a = Assignment.objects.get(campaign=world.campaign, student=world.stu_a2)
    phq = respond(a, "PHQ-A", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, 0, 1])
    [alert] = evaluate_submission(
        assignment_id=a.pk,
        student_id=world.stu_a2.pk,
        school_id=world.stu_a2.school_id,
        stage_band=a.stage_band,
        responses=[phq],
    )
    assert (alert.level, [t.rule for t in alert.triggers.all()]) == (
        "yellow",
        ["yellow.any_past_attempt"],
    )


def test_validation_rejects_an_unknown_tag():
    data = {
        "version": 1,
        "rules": [rule("o.typo", {"tag": "suicide.past_atempt", "op": "ge", "value": 1})],
    }
    with pytest.raises(DomainError, match=r"suicide\.past_atempt"):
        rules.validate_rules(data)
    nested = {
        "version": 1,
        "rules": [
            rule(
                "o.nested",
                {
                    "all": [
                        {"age": "ge", "value": 1},
                        {"any": [{"tag": "nope", "op": "eq", "value": 1}]},
                    ]
                },
            )
        ],
    }
    with pytest.raises(DomainError, match="nope"):
        rules.validate_rules(nested)
