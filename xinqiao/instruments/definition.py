"""Instrument definitions: parsed, validated, immutable; loading from files and from the library."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .schema import DefinitionError, validate_document

LIBRARY_DIR = Path(__file__).resolve().parent / "library"

Text = Mapping[str, str]


@dataclass(frozen=True)
class Item:
    id: str
    text: Text | None
    options: str
    reverse: bool
    critical_min: int | None
    ask_if_any_of: tuple[str, ...]
    ask_if_min: int | None
    instructed: int | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreSpec:
    name: str
    label: Text
    items: tuple[str, ...] = ()
    method: str = "sum"
    threshold: float | None = None
    max_missing: int = 0
    impute: str = "none"
    never_impute: tuple[str, ...] = ()
    round: int | None = None
    from_score: str | None = None
    multiply: float = 1.0
    add: float = 0.0


@dataclass(frozen=True)
class Band:
    code: str
    min: float
    max: float | None
    label: Text
    population: str = ""
    source: str = ""


# eq=False: identity equality and hashing, so a compiled scoring plan can be cached per definition
@dataclass(frozen=True, eq=False)
class Definition:
    code: str
    version: str
    names: Text
    respondent: str
    licence: Mapping[str, Any]
    text_shipped: bool
    option_sets: Mapping[str, tuple[tuple[int, Text], ...]]
    items: tuple[Item, ...]
    scores: tuple[ScoreSpec, ...]
    derived: tuple[ScoreSpec, ...]
    bands: Mapping[str, tuple[Band, ...]]
    lie_scale: tuple[str, float] | None
    inconsistent_pairs: tuple[tuple[str, str, float], ...]
    straightline_blocks: tuple[tuple[str, ...], ...]
    checks: Mapping[str, Any]
    norms: Mapping[str, Mapping[str, Mapping[str, Mapping[float, float]]]]
    document: Mapping[str, Any] = field(repr=False, compare=False)
    source_file: str = ""

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    @property
    def all_scores(self) -> tuple[ScoreSpec, ...]:
        return self.scores + self.derived

    @functools.cached_property
    def tagged_items(self) -> Mapping[str, tuple[str, ...]]:
        """Semantic tag -> ids of the items carrying it (instruments/tags.py)."""
        out: dict[str, tuple[str, ...]] = {}
        for item in self.items:
            for tag in item.tags:
                out[tag] = (*out.get(tag, ()), item.id)
        return out

    def option_codes(self, item: Item) -> tuple[int, ...]:
        return tuple(code for code, _ in self.option_sets[item.options])


def _score_spec(raw: Mapping[str, Any]) -> ScoreSpec:
    missing = raw.get("missing") or {}
    return ScoreSpec(
        name=raw["name"],
        label=raw["label"],
        items=tuple(raw.get("items", ())),
        method=raw.get("method", "sum"),
        threshold=raw.get("threshold"),
        max_missing=missing.get("max_missing", 0),
        impute=missing.get("impute", "none"),
        never_impute=tuple(missing.get("never_impute", ())),
        round=raw.get("round"),
        from_score=raw.get("from_score"),
        multiply=raw.get("multiply", 1.0),
        add=raw.get("add", 0.0),
    )


def definition_from_document(doc: Any, file: str = "<definition>") -> Definition:
    """Validate a parsed document (dict) and build a Definition; raises DefinitionError."""
    try:
        # canonical JSON: what is stored in the database is exactly what was validated
        doc = json.loads(json.dumps(doc))
    except (TypeError, ValueError) as exc:
        raise DefinitionError(file, "$", f"not representable as JSON: {exc}") from exc
    validate_document(doc, file)
    items = tuple(
        Item(
            id=it["id"],
            text=it.get("text"),
            options=it["options"],
            reverse=bool(it.get("reverse", False)),
            critical_min=(it.get("critical") or {}).get("min_code"),
            ask_if_any_of=tuple((it.get("ask_if") or {}).get("any_of", ())),
            ask_if_min=(it.get("ask_if") or {}).get("min_code"),
            instructed=(it.get("instructed") or {}).get("expected_code"),
            tags=tuple(it.get("tags") or ()),
        )
        for it in doc["items"]
    )
    validity = doc.get("validity") or {}
    lie = validity.get("lie_scale")
    return Definition(
        code=doc["code"],
        version=doc["version"],
        names=doc["names"],
        respondent=doc["respondent"],
        licence=doc["licence"],
        text_shipped=doc["text_shipped"],
        option_sets={
            name: tuple((o["code"], o["label"]) for o in opts)
            for name, opts in doc["option_sets"].items()
        },
        items=items,
        scores=tuple(_score_spec(s) for s in doc["scores"]),
        derived=tuple(_score_spec(s) for s in doc.get("derived") or ()),
        bands={
            name: tuple(
                Band(
                    code=b["code"],
                    min=b["min"],
                    max=b["max"],
                    label=b["label"],
                    population=b.get("population", ""),
                    source=b.get("source", ""),
                )
                for b in sorted(bands, key=lambda b: b["min"])
            )
            for name, bands in (doc.get("bands") or {}).items()
        },
        lie_scale=(lie["score"], lie["invalid_at"]) if lie else None,
        inconsistent_pairs=tuple(
            (p["items"][0], p["items"][1], p["max_difference"])
            for p in validity.get("inconsistent_pairs") or ()
        ),
        straightline_blocks=tuple(tuple(b) for b in validity.get("straightline_blocks") or ()),
        checks=validity.get("checks") or {},
        norms={
            score: {
                str(sex): {
                    str(group): {float(raw): float(t) for raw, t in table.items()}
                    for group, table in by_group.items()
                }
                for sex, by_group in by_sex.items()
            }
            for score, by_sex in (doc.get("norms") or {}).items()
        },
        document=doc,
        source_file=file,
    )


def parse_text(text: str, file: str = "<definition>") -> Definition:
    """Parse YAML (JSON is a subset) text into a validated Definition."""
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DefinitionError(file, "$", f"not valid YAML{where}: {exc}") from exc
    return definition_from_document(doc, file)


def load_definition(path: str | Path) -> Definition:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(str(path), "$", f"cannot read file: {exc}") from exc
    return parse_text(text, str(path))


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Order "1.10" after "1.9"; non-numeric parts compare as text."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.\-]", version))


class UnknownInstrumentError(LookupError):
    def __init__(self, code: str, version: str | None = None) -> None:
        self.code, self.version = code, version
        what = f"{code} version {version}" if version else code
        super().__init__(f"unknown instrument {what}")


@functools.cache
def _library(directory: str) -> dict[str, dict[str, Definition]]:
    found: dict[str, dict[str, Definition]] = {}
    paths = sorted(Path(directory).glob("*.y*ml")) + sorted(Path(directory).glob("*.json"))
    for path in paths:
        defn = load_definition(path)
        expected = f"{defn.code.lower()}-{defn.version}"
        if path.stem != expected:
            raise DefinitionError(str(path), "$.code", f"file name must be {expected}{path.suffix}")
        found.setdefault(defn.code, {})[defn.version] = defn
    return found


def load_library(directory: str | Path | None = None) -> dict[str, Definition]:
    """Latest version of every instrument in the library directory, by code."""
    lib = _library(str(directory or LIBRARY_DIR))
    return {code: versions[max(versions, key=version_key)] for code, versions in lib.items()}


def library_versions(directory: str | Path | None = None) -> dict[str, dict[str, Definition]]:
    return _library(str(directory or LIBRARY_DIR))


def get_definition(
    code: str, version: str | None = None, *, directory: str | Path | None = None
) -> Definition:
    versions = _library(str(directory or LIBRARY_DIR)).get(code.upper())
    if not versions:
        raise UnknownInstrumentError(code)
    if version is None:
        return versions[max(versions, key=version_key)]
    if version not in versions:
        raise UnknownInstrumentError(code, version)
    return versions[version]
