"""Synthetic definitions for engine tests (hand-computable, not real instruments; no tests)."""

from __future__ import annotations

import copy
from typing import Any

from xinqiao.instruments.definition import Definition, definition_from_document

L = {"zh-Hans": "x", "en": "x"}


def freq4() -> list[dict[str, Any]]:
    return [{"code": c, "label": L} for c in range(4)]


def base_doc(**overrides: Any) -> dict[str, Any]:
    """Five 0-3 items; item 4 reverse-keyed, item 5 critical; total: sum, 1 missing prorated."""
    doc: dict[str, Any] = {
        "code": "TEST",
        "version": "1.0",
        "names": L,
        "respondent": "self",
        "licence": {"status": "custom", "holder": "h", "source": "s", "notice": L},
        "text_shipped": False,
        "option_sets": {"freq4": freq4()},
        "items": [
            {"id": "1", "options": "freq4"},
            {"id": "2", "options": "freq4"},
            {"id": "3", "options": "freq4"},
            {"id": "4", "options": "freq4", "reverse": True},
            {"id": "5", "options": "freq4", "critical": {"min_code": 1}},
        ],
        "scores": [
            {
                "name": "total",
                "label": L,
                "items": ["1", "2", "3", "4", "5"],
                "method": "sum",
                "missing": {"max_missing": 1, "impute": "prorate", "never_impute": ["5"]},
            }
        ],
        "bands": {
            "total": [
                {"code": "low", "min": 0, "max": 5, "label": L},
                {"code": "mid", "min": 5, "max": 10, "label": L},
                {"code": "high", "min": 10, "max": None, "label": L},
            ]
        },
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def make(**overrides: Any) -> Definition:
    return definition_from_document(base_doc(**overrides), "test.yaml")
