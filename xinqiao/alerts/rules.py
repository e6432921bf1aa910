"""Rule sets: data (YAML validated against a JSON schema), evaluated in plain Python — no eval.

`evaluate(rules, facts)` turns the facts of one submission (every scored response of it, and the
student's age, read lazily) into the rules that fire. Score-kind rules are evaluated on valid
responses only; those that would fire on an invalid one are returned as `held` (they wait for a
re-sit). Critical-kind rules read every response, valid or not.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from django.utils.translation import gettext as _

from xinqiao.core.errors import DomainError
from xinqiao.instruments.tags import TAGS

DEFAULT_PATH = Path(__file__).resolve().parent / "rulesets" / "default.yaml"
LEVELS = ("red", "orange", "yellow")
OPS: dict[str, Callable[[float, float], bool]] = {
    "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
}

_num = {"type": "number"}
_op = {"enum": list(OPS)}
_name = {"type": "string", "minLength": 1, "maxLength": 40}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "rules"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "maxLength": 120},
        "rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/rule"}},
    },
    "$defs": {
        "rule": {
            "type": "object",
            "required": ["id", "level", "kind", "when"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z][a-z0-9_.-]{1,79}$"},
                "level": {"enum": list(LEVELS)},
                "kind": {"enum": ["critical", "score"]},
                "when": {"$ref": "#/$defs/cond"},
                "note": {"type": "string"},
                "title": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {
                        "zh-Hans": {"type": "string", "minLength": 1, "maxLength": 80},
                        "en": {"type": "string", "minLength": 1, "maxLength": 80},
                    },
                },
            },
        },
        "cond": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["all"],
                    "additionalProperties": False,
                    "properties": {
                        "all": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/cond"}}
                    },
                },
                {
                    "type": "object",
                    "required": ["any"],
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/cond"}}
                    },
                },
                {
                    "type": "object",
                    "required": ["item", "id", "op", "value"],
                    "additionalProperties": False,
                    "properties": {"item": _name, "id": _name, "op": _op, "value": _num},
                },
                {
                    # any instrument's item carrying the semantic tag (instruments/tags.py)
                    "type": "object",
                    "required": ["tag", "op", "value"],
                    "additionalProperties": False,
                    "properties": {"tag": {"type": "string"}, "op": _op, "value": _num},
                },
                {
                    "type": "object",
                    "required": ["missing", "ids"],
                    "additionalProperties": False,
                    "properties": {
                        "missing": _name,
                        "ids": {"type": "array", "minItems": 1, "items": _name},
                    },
                },
                {
                    "type": "object",
                    "required": ["score", "name", "op", "value"],
                    "additionalProperties": False,
                    "properties": {"score": _name, "name": _name, "op": _op, "value": _num},
                },
                {
                    "type": "object",
                    "required": ["age", "value"],
                    "additionalProperties": False,
                    "properties": {"age": _op, "value": _num},
                },
                {
                    "type": "object",
                    "required": ["critical_missing"],
                    "additionalProperties": False,
                    "properties": {"critical_missing": _name},
                },
            ]
        },
    },
}
_validator = jsonschema.Draft202012Validator(SCHEMA)


def parse_rules(text: str) -> dict[str, Any]:
    """YAML text → validated rule set; DomainError with a readable message otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DomainError(_("The rules are not valid YAML: %(e)s") % {"e": exc}) from None
    validate_rules(data)
    return data  # type: ignore[no-any-return]


def validate_rules(data: Any) -> None:
    errors = sorted(_validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        raise DomainError(
            _("The rules do not match the schema at %(where)s: %(e)s")
            % {"where": where, "e": first.message[:300]}
        )
    ids = [r["id"] for r in data["rules"]]
    if len(ids) != len(set(ids)):
        raise DomainError(_("Two rules have the same id."))
    for rule in data["rules"]:
        for tag in tags_of(rule["when"]):
            if tag not in TAGS:
                raise DomainError(
                    _("Rule %(rule)s uses an unknown item tag: %(tag)s. Known tags: %(known)s")
                    % {"rule": rule["id"], "tag": tag, "known": ", ".join(sorted(TAGS))}
                )


def tags_of(cond: Mapping[str, Any]) -> list[str]:
    """Every tag a condition tests, in order."""
    if "all" in cond or "any" in cond:
        return [t for c in cond.get("all") or cond.get("any") or () for t in tags_of(c)]
    return [cond["tag"]] if "tag" in cond else []


@functools.cache
def default_source() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


@functools.cache
def _default() -> dict[str, Any]:
    return parse_rules(default_source())


def default_rules() -> dict[str, Any]:
    return copy.deepcopy(_default())


# --- facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstrumentFacts:
    """What a rule may read of one scored response."""

    code: str
    items: Mapping[str, int | None]
    scores: Mapping[str, float | None]
    missing: frozenset[str]
    critical_ids: frozenset[str]  # critical items of the instrument
    valid: bool
    response_id: int | None = None
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # tag -> item ids


@dataclass
class Facts:
    instruments: dict[str, InstrumentFacts]
    age: Callable[[], int | None] = lambda: None
    _age: list[int | None] = field(default_factory=list)

    def age_years(self) -> int | None:
        if not self._age:
            self._age.append(self.age())
        return self._age[0]


def _test(cond: Mapping[str, Any], facts: Facts, seen: set[str]) -> bool:
    if "all" in cond:
        return all(_test(c, facts, seen) for c in cond["all"])
    if "any" in cond:
        # Evaluate every branch so that the evidence names every instrument that matched.
        hits = [_test(c, facts, seen) for c in cond["any"]]
        return any(hits)
    if "tag" in cond:
        # Every instrument's item with the tag counts the same; evaluate all for the evidence.
        matched = [
            i
            for i in facts.instruments.values()
            if any(
                (v := i.items.get(item_id)) is not None and OPS[cond["op"]](v, cond["value"])
                for item_id in i.tags.get(cond["tag"], ())
            )
        ]
        seen.update(i.code for i in matched)
        return bool(matched)
    if "item" in cond:
        inst = facts.instruments.get(cond["item"])
        value: float | None = inst.items.get(cond["id"]) if inst else None
        ok = value is not None and OPS[cond["op"]](value, cond["value"])
    elif "score" in cond:
        inst = facts.instruments.get(cond["score"])
        value = inst.scores.get(cond["name"]) if inst else None
        ok = value is not None and OPS[cond["op"]](value, cond["value"])
    elif "missing" in cond:
        inst = facts.instruments.get(cond["missing"])
        ok = bool(inst and inst.missing.intersection(cond["ids"]))
    elif "critical_missing" in cond:
        name = cond["critical_missing"]
        candidates = facts.instruments.values() if name == "*" else [facts.instruments.get(name)]
        matched = [i for i in candidates if i and i.missing & i.critical_ids]
        seen.update(i.code for i in matched)
        return bool(matched)
    elif "age" in cond:
        age = facts.age_years()
        return age is not None and OPS[cond["age"]](age, cond["value"])
    else:  # pragma: no cover - the schema admits nothing else
        return False
    if ok:
        seen.add(inst.code)  # type: ignore[union-attr]
    return ok


@dataclass(frozen=True)
class Hit:
    rule: str
    level: str
    kind: str
    instruments: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    hits: list[Hit]
    held: list[Hit]  # score rules that would fire on an invalid questionnaire


def _run(rules: Iterable[Mapping[str, Any]], facts: Facts) -> list[Hit]:
    out = []
    for rule in rules:
        seen: set[str] = set()
        if _test(rule["when"], facts, seen):
            out.append(Hit(rule["id"], rule["level"], rule["kind"], tuple(sorted(seen))))
    return out


def evaluate(ruleset: Mapping[str, Any], facts: Facts) -> Outcome:
    critical = [r for r in ruleset["rules"] if r["kind"] == "critical"]
    score = [r for r in ruleset["rules"] if r["kind"] == "score"]
    hits = _run(critical, facts)
    valid_facts = Facts(
        {k: v for k, v in facts.instruments.items() if v.valid}, facts.age, facts._age
    )
    score_hits = _run(score, valid_facts)
    hits += score_hits
    held: list[Hit] = []
    if len(valid_facts.instruments) != len(facts.instruments):
        fired = {h.rule for h in score_hits}
        held = [h for h in _run(score, facts) if h.rule not in fired]
    return Outcome(hits, held)


# --- which rule set is in force (process cache) -----------------------------------------------
# Submissions evaluate rules without a database round trip: the rule sets in force are cached in
# the process and reloaded at most every CACHE_SECONDS (and at once in the process that saves a
# new version). Another process picks up an edit within CACHE_SECONDS.
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class ActiveRuleSet:
    label: str
    unit_path: str  # "" for the shipped default
    stage: str
    definition: Mapping[str, Any]


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded_at = -1e18
        self.sets: list[ActiveRuleSet] = []
        self.school_paths: dict[int, str] = {}

    def clear(self) -> None:
        with self.lock:
            self.loaded_at = -1e18
            self.school_paths.clear()

    def refresh(self, *, force: bool = False) -> list[ActiveRuleSet]:
        if not force and time.monotonic() - self.loaded_at < CACHE_SECONDS:
            return self.sets
        from .models import RuleSet

        newest: dict[tuple[int, str], Any] = {}
        for rs in RuleSet.objects.select_related("unit").order_by("version"):
            newest[(rs.unit_id, rs.stage)] = rs
        sets = [
            ActiveRuleSet(
                label=f"{rs.unit.name}/{rs.stage or 'all'}@{rs.version}",
                unit_path=rs.unit.path,
                stage=rs.stage,
                definition=rs.definition,
            )
            for rs in newest.values()
        ]
        with self.lock:
            self.sets = sets
            self.loaded_at = time.monotonic()
        return sets


cache = _Cache()


def default_active() -> ActiveRuleSet:
    d = _default()
    return ActiveRuleSet(f"default@{d['version']}", "", "", d)


def rule_title(rule_id: str) -> str:
    """What users read for a rule: its title in the active language, from the rule sets in force
    and the shipped default (the id when no rule set gives one)."""
    from xinqiao.instruments.labels import text

    if rule_id.startswith("concern."):  # a person's report (services/concerns.py)
        from .models import Urgency

        urgency = rule_id.partition(".")[2]
        label = dict(Urgency.choices).get(urgency, urgency)
        return _("Concern reported: %(urgency)s") % {"urgency": label}
    for rs in [*cache.refresh(), default_active()]:
        for rule in rs.definition.get("rules", ()):
            if rule.get("id") == rule_id and rule.get("title"):
                return text(rule["title"])
    return rule_id


def ruleset_title(label: str) -> str:
    """A rule set version's label for people: the shipped default by name."""
    if label.startswith("default@"):
        return _("Xinqiao default rules, version %(version)s") % {
            "version": label.partition("@")[2]
        }
    return label


def ruleset_for(*, school_id: int, stage: str) -> ActiveRuleSet:
    """The rule set in force for a school and stage: the most specific unit (district before
    city), the exact stage before "every stage", else the shipped default."""
    sets = cache.refresh()
    if not sets:
        return default_active()
    path = cache.school_paths.get(school_id)
    if path is None:
        from xinqiao.orgs.models import OrgUnit

        path = OrgUnit.objects.filter(pk=school_id).values_list("path", flat=True).first() or ""
        cache.school_paths[school_id] = path
    best: ActiveRuleSet | None = None
    for rs in sets:
        if not path.startswith(rs.unit_path) or rs.stage not in ("", stage):
            continue
        key = (len(rs.unit_path), rs.stage == stage)
        if best is None or key > (len(best.unit_path), best.stage == stage):
            best = rs
    return best or default_active()
