"""JSON schema and semantic checks for instrument definitions (see docs/instruments.md).

Pure Python: no Django import, so the engine can run in batch jobs and benchmarks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

import jsonschema

from .tags import CODINGS, TAGS

CHECK_NAMES = (
    "too_fast",
    "straightlining",
    "repeated_pattern",
    "extreme_fast",
    "inconsistent_pairs",
    "lie_scale",
    "instructed_item",
)


# Battery order of the domains (instruments without one go between anxiety and suicide risk).
DOMAINS = ("wellbeing", "broadband", "depression", "anxiety", "suicide_risk")


class DefinitionError(ValueError):
    """A refused definition: names the file, the field (JSON path) and the problem."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: {field}: {problem}")


# Shared pieces. Extra keys beginning with "x_" / "x-" are allowed everywhere for deployer notes;
# any other unknown key is refused, so a typo such as "reversed:" cannot silently change scoring.
_EXT: dict[str, Any] = {"^x[-_]": {}}
_LANG = "^[a-z]{2,3}(-[A-Za-z]{2,4})?$"
_TEXT = {  # translatable text: zh-Hans is required, other languages optional
    "type": "object",
    "required": ["zh-Hans"],
    "patternProperties": {_LANG: {"type": "string", "minLength": 1}},
    "additionalProperties": False,
}
_NAMES = {**_TEXT, "required": ["zh-Hans", "en"]}
_ID = {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z0-9_.\-]+$"}
_SCORE_NAME = {"type": "string", "pattern": "^[a-z0-9_]+$"}
_NUM = {"type": "number"}
_MISSING = {
    "type": "object",
    "required": ["max_missing", "impute"],
    "properties": {
        "max_missing": {"type": "integer", "minimum": 0},
        "impute": {"enum": ["prorate", "mean", "none"]},
        "never_impute": {"type": "array", "items": _ID},
    },
    "patternProperties": _EXT,
    "additionalProperties": False,
}
_SCORE_PROPS: dict[str, Any] = {
    "name": _SCORE_NAME,
    "label": _NAMES,
    "description": _TEXT,
    "notes": {"type": "string"},
    "items": {"type": "array", "items": _ID, "minItems": 1},
    "method": {"enum": ["sum", "mean", "count_at_least"]},
    "threshold": {"type": ["number", "null"]},
    "missing": _MISSING,
    "round": {"type": ["integer", "null"], "minimum": 0, "maximum": 6},
}
_CHECK = {
    "oneOf": [
        {"type": "boolean"},
        {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "invalidates": {"type": "boolean"},
                "min_median_seconds": {"type": "number", "minimum": 0},
                "cohort_fraction": {"type": "number", "minimum": 0},
                "max_median_seconds": {"type": "number", "minimum": 0},
                "max_period": {"type": "integer", "minimum": 2},
                "min_repeats": {"type": "integer", "minimum": 2},
            },
            "additionalProperties": False,
        },
    ]
}
CHECKS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {name: _CHECK for name in CHECK_NAMES},
    "additionalProperties": False,
}

DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "code",
        "version",
        "names",
        "respondent",
        "licence",
        "text_shipped",
        "option_sets",
        "items",
        "scores",
    ],
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z0-9-]+$"},
        "version": {"type": "string", "pattern": r"^[0-9A-Za-z.\-]+$"},
        "names": _NAMES,
        "abbreviation": {"type": "string"},
        "respondent": {"enum": ["self", "parent", "teacher"]},
        "age_range": {
            "type": ["array", "null"],
            "items": {"type": "integer", "minimum": 0},
            "minItems": 2,
            "maxItems": 2,
        },
        "stages": {
            "type": "array",
            "items": {
                "enum": [
                    "primary_lower",
                    "primary_upper",
                    "junior",
                    "senior",
                    "vocational",
                    "special",
                ]
            },
        },
        # Where the instrument goes in a battery (screening orders well-being and mood first, the
        # suicide-risk questions after the depression scale, never first).
        "domain": {"enum": list(DOMAINS)},
        # What students see: a title without scale acronym or clinician wording, and the licence
        # notice in words for them (null: none; absent: the licence notice).
        "student": {
            "type": "object",
            "required": ["title"],
            "properties": {"title": _TEXT, "notice": {"oneOf": [_TEXT, {"type": "null"}]}},
            "patternProperties": _EXT,
            "additionalProperties": False,
        },
        "reference_period": {"oneOf": [_TEXT, {"type": "null"}]},
        "instructions": {"oneOf": [_TEXT, {"type": "null"}]},
        "licence": {
            "type": "object",
            "required": ["status", "holder", "source", "notice"],
            "properties": {
                "status": {
                    "enum": [
                        "public_domain",
                        "free_with_attribution",
                        "licensed_scoring_only",
                        "custom",
                    ]
                },
                "holder": {"type": "string"},
                "source": {"type": "string", "minLength": 1},
                "notice": _TEXT,
                "url": {"type": "string"},
            },
            "patternProperties": _EXT,
            "additionalProperties": False,
        },
        "text_shipped": {"type": "boolean"},
        "option_sets": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["code", "label"],
                    "properties": {"code": {"type": "integer"}, "label": _TEXT},
                    "patternProperties": _EXT,
                    "additionalProperties": False,
                },
            },
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "options"],
                "properties": {
                    "id": _ID,
                    "text": {"oneOf": [_TEXT, {"type": "null"}]},
                    "options": {"type": "string"},
                    "reverse": {"type": "boolean"},
                    "critical": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["min_code"],
                                "properties": {"min_code": {"type": "integer"}},
                                "additionalProperties": False,
                            },
                        ]
                    },
                    "ask_if": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["any_of", "min_code"],
                                "properties": {
                                    "any_of": {"type": "array", "items": _ID, "minItems": 1},
                                    "min_code": {"type": "integer"},
                                },
                                "additionalProperties": False,
                            },
                        ]
                    },
                    "instructed": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["expected_code"],
                                "properties": {"expected_code": {"type": "integer"}},
                                "additionalProperties": False,
                            },
                        ]
                    },
                    "tags": {
                        "type": "array",
                        "items": {"enum": sorted(TAGS)},
                        "uniqueItems": True,
                    },
                    "notes": {"type": "string"},
                },
                "patternProperties": _EXT,
                "additionalProperties": False,
            },
        },
        "scores": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "label", "items", "method"],
                "properties": _SCORE_PROPS,
                "patternProperties": _EXT,
                "additionalProperties": False,
            },
        },
        "derived": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "required": ["name", "label"],
                "properties": {
                    **_SCORE_PROPS,
                    "from_score": _SCORE_NAME,
                    "multiply": _NUM,
                    "add": _NUM,
                },
                "patternProperties": _EXT,
                "additionalProperties": False,
            },
        },
        "bands": {
            "type": ["object", "null"],
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["code", "min", "max", "label"],
                    "properties": {
                        "code": {"type": "string", "pattern": "^[a-z0-9_]+$"},
                        "min": _NUM,
                        "max": {"type": ["number", "null"]},
                        "label": _TEXT,
                        "population": {"type": "string"},
                        "source": {"type": "string"},
                        "notes": {"type": "string"},
                    },
                    "patternProperties": _EXT,
                    "additionalProperties": False,
                },
            },
        },
        "validity": {
            "type": ["object", "null"],
            "properties": {
                "lie_scale": {
                    "type": ["object", "null"],
                    "required": ["score", "invalid_at"],
                    "properties": {"score": _SCORE_NAME, "invalid_at": _NUM},
                    "additionalProperties": False,
                },
                "inconsistent_pairs": {
                    "type": ["array", "null"],
                    "items": {
                        "type": "object",
                        "required": ["items", "max_difference"],
                        "properties": {
                            "items": {
                                "type": "array",
                                "items": _ID,
                                "minItems": 2,
                                "maxItems": 2,
                            },
                            "max_difference": {"type": "number", "minimum": 0},
                        },
                        "additionalProperties": False,
                    },
                },
                "straightline_blocks": {
                    "type": ["array", "null"],
                    "items": {"type": "array", "items": _ID, "minItems": 2},
                },
                "checks": CHECKS_SCHEMA,
            },
            "patternProperties": _EXT,
            "additionalProperties": False,
        },
        "norms": {
            "type": ["object", "null"],
            "additionalProperties": {  # score
                "type": "object",
                "additionalProperties": {  # sex
                    "type": "object",
                    "additionalProperties": {  # grade or age
                        "type": "object",
                        "additionalProperties": _NUM,  # raw -> T
                    },
                },
            },
        },
        "notes": {"type": "string"},
        "references": {"type": "array", "items": {"type": "string"}},
    },
    "patternProperties": _EXT,
    "additionalProperties": False,
}

_VALIDATOR = jsonschema.Draft202012Validator(DEFINITION_SCHEMA)


def json_path(parts: Iterable[str | int]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_document(doc: Any, file: str) -> None:
    """Refuse a document that breaks the schema or the rules the schema cannot express."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(doc))
    if error is not None:
        raise DefinitionError(file, json_path(error.absolute_path), _message(error))
    _check_semantics(doc, file)


def _message(error: jsonschema.ValidationError) -> str:
    schema, instance = error.schema, error.instance
    if error.validator == "additionalProperties" and isinstance(schema, dict):
        known = schema.get("properties", {})
        if known and isinstance(instance, dict):
            # jsonschema's own wording names the x- pattern, which hides a simple typo
            unknown = [
                k for k in instance if k not in known and not str(k).startswith(("x-", "x_"))
            ]
            return f"unknown field {', '.join(map(repr, unknown))} (allowed: {', '.join(known)})"
    return error.message


def _check_semantics(doc: Mapping[str, Any], file: str) -> None:
    def fail(path: Sequence[str | int], problem: str) -> NoReturn:
        raise DefinitionError(file, json_path(path), problem)

    age = doc.get("age_range")
    if age and age[0] > age[1]:
        fail(["age_range"], f"lower bound {age[0]} is above upper bound {age[1]}")

    option_codes: dict[str, set[int]] = {}
    for name, options in doc["option_sets"].items():
        listed = [opt["code"] for opt in options]
        if len(set(listed)) != len(listed):
            fail(["option_sets", name], "option codes are not unique")
        option_codes[name] = set(listed)

    items = doc["items"]
    ids: dict[str, int] = {}
    for i, item in enumerate(items):
        if item["id"] in ids:
            fail(["items", i, "id"], f"item id {item['id']!r} is used twice")
        ids[item["id"]] = i
    for i, item in enumerate(items):
        if item["options"] not in option_codes:
            fail(["items", i, "options"], f"option set {item['options']!r} is not defined")
        codes = option_codes[item["options"]]
        if doc["text_shipped"] and not item.get("text"):
            fail(["items", i, "text"], "text is missing although text_shipped is true")
        crit = item.get("critical")
        if crit and crit["min_code"] > max(codes):
            fail(["items", i, "critical", "min_code"], "min_code is above every option code")
        instructed = item.get("instructed")
        if instructed and instructed["expected_code"] not in codes:
            fail(["items", i, "instructed", "expected_code"], "expected_code is not an option code")
        for j, tag in enumerate(item.get("tags") or ()):
            # a tag means the same answer everywhere: the item must use the tag's coding
            if codes != CODINGS[TAGS[tag]]:
                fail(
                    ["items", i, "tags", j],
                    f"tag {tag!r} needs the option codes {sorted(CODINGS[TAGS[tag]])}",
                )
        ask = item.get("ask_if")
        if ask:
            for j, ref in enumerate(ask["any_of"]):
                if ref not in ids:
                    fail(["items", i, "ask_if", "any_of", j], f"unknown item id {ref!r}")
                if ref == item["id"]:
                    fail(["items", i, "ask_if", "any_of", j], "an item cannot depend on itself")
                if items[ids[ref]].get("ask_if"):
                    # one level only: keeps "not applicable" decidable in one vectorised pass
                    fail(["items", i, "ask_if", "any_of", j], f"item {ref!r} is itself conditional")

    names: set[str] = set()

    def check_item_score(kind: str, k: int, spec: Mapping[str, Any]) -> None:
        path: list[str | int] = [kind, k]
        if spec["name"] in names:
            fail([*path, "name"], f"score name {spec['name']!r} is used twice")
        seen: set[str] = set()
        for j, ref in enumerate(spec["items"]):
            if ref not in ids:
                fail([*path, "items", j], f"unknown item id {ref!r}")
            if ref in seen:
                fail([*path, "items", j], f"item {ref!r} is listed twice")
            seen.add(ref)
        if spec["method"] == "count_at_least" and spec.get("threshold") is None:
            fail([*path, "threshold"], "count_at_least needs a threshold")
        missing = spec.get("missing") or {}
        for j, ref in enumerate(missing.get("never_impute", [])):
            if ref not in seen:
                fail([*path, "missing", "never_impute", j], f"item {ref!r} is not in this score")

    for k, spec in enumerate(doc["scores"]):
        check_item_score("scores", k, spec)
        names.add(spec["name"])
    for k, spec in enumerate(doc.get("derived") or []):
        has_items, has_from = "items" in spec, "from_score" in spec
        if has_items == has_from:
            fail(["derived", k], "give either items (with method) or from_score, not both/neither")
        if has_items:
            if "method" not in spec:
                fail(["derived", k, "method"], "a derived score with items needs a method")
            check_item_score("derived", k, spec)
        else:
            if spec["name"] in names:
                fail(["derived", k, "name"], f"score name {spec['name']!r} is used twice")
            if spec["from_score"] not in names:
                fail(["derived", k, "from_score"], f"no earlier score named {spec['from_score']!r}")
            extra = {"method", "threshold", "missing"} & spec.keys()
            if extra:
                fail(["derived", k], f"{sorted(extra)} do not apply to from_score")
        names.add(spec["name"])

    for score, bands in (doc.get("bands") or {}).items():
        if score not in names:
            fail(["bands", score], f"no score named {score!r}")
        codes_seen: set[str] = set()
        order = sorted(range(len(bands)), key=lambda b: bands[b]["min"])
        for b in order:
            band = bands[b]
            if band["code"] in codes_seen:
                fail(["bands", score, b, "code"], f"band code {band['code']!r} is used twice")
            codes_seen.add(band["code"])
            if band["max"] is not None and band["max"] <= band["min"]:
                fail(["bands", score, b], "max must be greater than min (bands are [min, max))")
        for prev, nxt in itertools.pairwise(order):
            if bands[prev]["max"] is None or bands[prev]["max"] > bands[nxt]["min"]:
                fail(["bands", score, nxt], f"overlaps band {bands[prev]['code']!r}")

    validity = doc.get("validity") or {}
    lie = validity.get("lie_scale")
    if lie and lie["score"] not in names:
        fail(["validity", "lie_scale", "score"], f"no score named {lie['score']!r}")
    for k, pair in enumerate(validity.get("inconsistent_pairs") or []):
        for j, ref in enumerate(pair["items"]):
            if ref not in ids:
                fail(["validity", "inconsistent_pairs", k, "items", j], f"unknown item id {ref!r}")
    for k, block in enumerate(validity.get("straightline_blocks") or []):
        for j, ref in enumerate(block):
            if ref not in ids:
                fail(["validity", "straightline_blocks", k, j], f"unknown item id {ref!r}")
        keyings = {bool(items[ids[ref]].get("reverse")) for ref in block if ref in ids}
        if len(keyings) < 2:
            # same answer on same-keyed items can be honest; only a mixed block is evidence
            fail(["validity", "straightline_blocks", k], "block must mix reverse and forward items")

    for score, by_sex in (doc.get("norms") or {}).items():
        if score not in names:
            fail(["norms", score], f"no score named {score!r}")
        for sex, by_group in by_sex.items():
            for group, table in by_group.items():
                for raw in table:
                    try:
                        float(raw)
                    except ValueError:
                        fail(["norms", score, sex, group, raw], "raw score key is not a number")
