"""Reads of the student side: the questionnaire to render for the bound assignment.

A student sees only their own assignment (the signed cookie names it); there is no staff scope here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import get_language

from .services import Bound

# Stage bands whose items can be read aloud by the browser (speech synthesis).
READ_ALOUD_BANDS = frozenset({"primary_lower"})


def _lang_key() -> str:
    lang = (get_language() or "zh-hans").lower()
    return "zh-Hans" if lang.startswith("zh") else "en"


def text(value: Mapping[str, str] | None, lang: str | None = None) -> str:
    if not value:
        return ""
    lang = lang or _lang_key()
    return value.get(lang) or value.get("zh-Hans") or value.get("en") or next(iter(value.values()))


@dataclass(frozen=True)
class Option:
    code: int
    label: str
    checked: bool


@dataclass(frozen=True)
class Question:
    id: str
    number: int
    text: str
    options: list[Option]
    ask_if: str  # comma-separated item ids, "" when always shown
    ask_min: int
    instructed: bool


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    instructions: str
    reference_period: str
    notice: str
    questions: list[Question]


def questionnaire(bound: Bound, drafts: list[dict[str, Any]]) -> list[Instrument]:
    lang = _lang_key()
    given = {(d["i"], d["q"]): d["v"] for d in drafts}
    out = []
    for inst in bound.battery():
        defn = inst.definition
        doc = defn.document
        questions = []
        for number, item in enumerate(defn.items, start=1):
            options = [
                Option(code, text(label, lang), given.get((inst.code, item.id)) == code)
                for code, label in defn.option_sets[item.options]
            ]
            questions.append(
                Question(
                    id=item.id,
                    number=number,
                    text=text(item.text, lang),
                    options=options,
                    ask_if=",".join(item.ask_if_any_of),
                    ask_min=int(item.ask_if_min or 0),
                    instructed=item.instructed is not None,
                )
            )
        # Students see the student-facing title and notice (no scale acronym, no clinician text);
        # an instrument without them (a deployer's own) falls back to its names and licence.
        student = doc.get("student") or {}
        notice = student["notice"] if "notice" in student else (defn.licence or {}).get("notice")
        out.append(
            Instrument(
                code=inst.code,
                name=text(student.get("title") or defn.names, lang),
                instructions=text(doc.get("instructions"), lang),
                reference_period=text(doc.get("reference_period"), lang),
                notice=text(notice, lang),
                questions=questions,
            )
        )
    return out
