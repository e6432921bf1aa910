"""Dry run of a rule set for rule editors: one student's answers in, the level and the rules that
fired out, each with a readable reason. Nothing is stored, nobody is notified.

Used by `python manage.py explain_rules` and the rule-set editor page. Answers are typed as for
`manage.py score_instrument`: option codes in item order, comma-separated, blank = unanswered
("0,1,,3"). The responses are scored by the same engine and the rules evaluated by the same
`rules.evaluate` as a real hand-in (score rules wait on an invalid questionnaire: `held`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from xinqiao.core.errors import DomainError
from xinqiao.instruments.definition import Definition, UnknownInstrumentError
from xinqiao.instruments.engine import AnswerError, score_response
from xinqiao.instruments.schema import DefinitionError
from xinqiao.instruments.selectors import definition_for
from xinqiao.instruments.tag_labels import label as tag_label

from . import rules as rules_mod
from .models import LEVEL_RANK

NONE = "none"
OP_WORDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "eq": "="}


@dataclass(frozen=True)
class Fired:
    rule: str
    level: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "level": self.level, "reason": self.reason}


@dataclass(frozen=True)
class DryRun:
    level: str  # red | orange | yellow | none
    fired: list[Fired]
    held: list[Fired] = field(default_factory=list)  # score rules waiting for a valid re-sit
    invalid: list[str] = field(default_factory=list)  # instruments scored invalid

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"level": self.level, "fired": [f.as_dict() for f in self.fired]}
        if self.held:
            out["held"] = [f.as_dict() for f in self.held]
        return out


def parse_answers(text: str, *, code: str = "") -> list[int | None]:
    """ "0,1,,3" → [0, 1, None, 3] (the form of `manage.py score_instrument`)."""
    values: list[int | None] = []
    for n, part in enumerate((text or "").replace("，", ",").split(","), start=1):
        part = part.strip()
        if not part:
            values.append(None)
            continue
        try:
            values.append(int(part))
        except ValueError:
            raise DomainError(
                _("%(code)s answer %(n)s: %(value)s is not a number")
                % {"code": code, "n": n, "value": part}
            ) from None
    return values


def lang_text(value: Mapping[str, str] | None) -> str:
    if not value:
        return ""
    lang = (get_language() or "zh-hans").lower()
    key = "zh-Hans" if lang.startswith("zh") else lang.split("-")[0]
    return value.get(key) or value.get("zh-Hans") or next(iter(value.values()), "")


def answer_label(defn: Definition, item_id: str, value: int | None) -> str:
    if value is None:
        return _("no answer")
    item = next(i for i in defn.items if i.id == item_id)
    for code, label in defn.option_sets[item.options]:
        if code == value:
            return lang_text(label)
    return str(value)


def _item_words(defn: Definition, item_id: str, value: int | None) -> str:
    item = next((i for i in defn.items if i.id == item_id), None)
    question = lang_text(item.text) if item and item.text else ""
    if question:
        return _("%(code)s question %(id)s “%(text)s”: %(answer)s") % {
            "code": defn.code,
            "id": item_id,
            "text": question,
            "answer": answer_label(defn, item_id, value),
        }
    return _("%(code)s question %(id)s: %(answer)s") % {
        "code": defn.code,
        "id": item_id,
        "answer": answer_label(defn, item_id, value),
    }


def _matches(cond: Mapping[str, Any], facts: rules_mod.Facts) -> bool:
    return rules_mod._test(cond, facts, set())


def _explain(
    cond: Mapping[str, Any], facts: rules_mod.Facts, defs: Mapping[str, Definition]
) -> list[str]:
    """Readable words for the parts of a condition that held (assumes `cond` held)."""
    if "all" in cond:
        return [w for c in cond["all"] for w in _explain(c, facts, defs)]
    if "any" in cond:
        return [w for c in cond["any"] if _matches(c, facts) for w in _explain(c, facts, defs)]
    op = cond.get("op")
    if "tag" in cond:
        words = []
        for code, inst in facts.instruments.items():
            for item_id in inst.tags.get(cond["tag"], ()):
                value = inst.items.get(item_id)
                if value is not None and rules_mod.OPS[cond["op"]](value, cond["value"]):
                    words.append(
                        _("%(meaning)s — %(item)s")
                        % {
                            "meaning": tag_label(cond["tag"]),
                            "item": _item_words(defs[code], item_id, value),
                        }
                    )
        return words
    if "item" in cond:
        code = cond["item"]
        return [_item_words(defs[code], cond["id"], facts.instruments[code].items.get(cond["id"]))]
    if "score" in cond:
        code, name = cond["score"], cond["name"]
        spec = next((s for s in defs[code].all_scores if s.name == name), None)
        return [
            _("%(code)s %(score)s = %(value)s (rule: %(op)s %(threshold)s)")
            % {
                "code": code,
                "score": lang_text(spec.label) if spec else name,
                "value": _number(facts.instruments[code].scores.get(name)),
                "op": OP_WORDS[str(op)],
                "threshold": _number(cond["value"]),
            }
        ]
    if "missing" in cond:
        inst = facts.instruments[cond["missing"]]
        ids = [i for i in cond["ids"] if i in inst.missing]
        return [
            _("%(code)s question %(ids)s left unanswered")
            % {"code": cond["missing"], "ids": ", ".join(ids)}
        ]
    if "critical_missing" in cond:
        name = cond["critical_missing"]
        found = [i for i in facts.instruments.values() if i.missing & i.critical_ids]
        return [
            _("%(code)s question %(ids)s (critical) left unanswered")
            % {"code": i.code, "ids": ", ".join(sorted(i.missing & i.critical_ids))}
            for i in found
            if name in ("*", i.code)
        ]
    if "age" in cond:
        return [
            _("age %(age)s (rule: %(op)s %(threshold)s)")
            % {"age": facts.age_years(), "op": OP_WORDS[cond["age"]], "threshold": cond["value"]}
        ]
    return []  # pragma: no cover - the schema admits nothing else


def _number(value: Any) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _reason(rule: Mapping[str, Any], facts: rules_mod.Facts, defs: Mapping[str, Definition]) -> str:
    return "; ".join(_explain(rule["when"], facts, defs)) or str(rule.get("note") or rule["id"])


def dry_run(
    *,
    ruleset: Mapping[str, Any],
    answers: Mapping[str, list[int | None]],
    age: int | None = None,
) -> DryRun:
    """Score each instrument's answers and evaluate `ruleset` (a validated definition)."""
    if not answers:
        raise DomainError(_("Type the answers of at least one instrument."))
    defs: dict[str, Definition] = {}
    instruments: dict[str, rules_mod.InstrumentFacts] = {}
    invalid: list[str] = []
    for raw_code, values in answers.items():
        try:
            defn = definition_for(raw_code)
        except (UnknownInstrumentError, DefinitionError):
            raise DomainError(_("Unknown instrument: %(code)s") % {"code": raw_code}) from None
        try:
            result = score_response(defn, values)
        except AnswerError as exc:
            raise DomainError(
                _("%(code)s: %(problem)s") % {"code": defn.code, "problem": exc}
            ) from None
        defs[defn.code] = defn
        if not result.valid:
            invalid.append(defn.code)
        instruments[defn.code] = rules_mod.InstrumentFacts(
            code=defn.code,
            items={i: values[n] if n < len(values) else None for n, i in enumerate(defn.item_ids)},
            scores=dict(result.scores),
            missing=frozenset(result.missing),
            critical_ids=frozenset(i.id for i in defn.items if i.critical_min is not None),
            valid=result.valid,
            tags=defn.tagged_items,
        )
    facts = rules_mod.Facts(instruments, lambda: age)
    outcome = rules_mod.evaluate(ruleset, facts)
    by_id = {r["id"]: r for r in ruleset["rules"]}
    fired = [Fired(h.rule, h.level, _reason(by_id[h.rule], facts, defs)) for h in outcome.hits]
    fired.sort(key=lambda f: -LEVEL_RANK[f.level])
    held = [Fired(h.rule, h.level, _reason(by_id[h.rule], facts, defs)) for h in outcome.held]
    level = fired[0].level if fired else NONE
    return DryRun(level, fired, held, invalid)
