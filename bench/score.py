"""Benchmark: score 1,000,000 junior-high responses of the default battery (PHQ-A + GAD-7 + ASQ).

Every response is scored with all subscales, derived scores, bands, critical items and validity
flags (with item times) through `score_matrix`. The floor is numpy summing the same answer
matrices (`np.nansum`, since they hold missing answers) in the same run.

    python bench/score.py            # 1,000,000 responses
    python bench/score.py --quick    # 20,000 responses
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xinqiao.instruments.definition import definition_from_document
from xinqiao.instruments.engine import (
    Definition,
    MatrixResult,
    UnknownInstrumentError,
    get_definition,
    score_matrix,
)

BATTERY = ("PHQ-A", "GAD-7", "ASQ")

_L = {"zh-Hans": "x", "en": "x"}


def _options(n: int) -> list[dict[str, Any]]:
    return [{"code": c, "label": _L} for c in range(n)]


def _bands(cuts: list[int]) -> list[dict[str, Any]]:
    ends: list[int | None] = [*cuts[1:], None]
    return [
        {"code": f"b{lo}", "min": lo, "max": hi, "label": _L}
        for lo, hi in zip(cuts, ends, strict=True)
    ]


def _stand_in(code: str) -> Definition:
    """A synthetic definition of the same shape, used when the library file is absent."""
    doc: dict[str, Any] = {
        "code": code,
        "version": "bench",
        "names": _L,
        "respondent": "self",
        "licence": {"status": "custom", "holder": "", "source": "stand-in", "notice": _L},
        "text_shipped": False,
    }
    if code == "ASQ":
        ids = ["1", "2", "3", "4"]
        items = [{"id": i, "options": "yn", "critical": {"min_code": 1}} for i in ids]
        items.append(
            {
                "id": "5",
                "options": "yn",
                "critical": {"min_code": 1},
                "ask_if": {"any_of": ids, "min_code": 1},
            }
        )
        doc |= {
            "option_sets": {"yn": _options(2)},
            "items": items,
            "scores": [
                {
                    "name": "positive",
                    "label": _L,
                    "items": ids,
                    "method": "count_at_least",
                    "threshold": 1,
                    "missing": {"max_missing": 0, "impute": "none"},
                }
            ],
            "bands": {"positive": _bands([0, 1])},
        }
    else:
        k = 9 if code == "PHQ-A" else 7
        ids = [str(i) for i in range(1, k + 1)]
        items = [{"id": i, "options": "freq4"} for i in ids]
        if code == "PHQ-A":
            items[8]["critical"] = {"min_code": 1}
        doc |= {
            "option_sets": {"freq4": _options(4)},
            "items": items,
            "scores": [
                {
                    "name": "total",
                    "label": _L,
                    "items": ids,
                    "method": "sum",
                    "missing": {
                        "max_missing": 2 if k == 9 else 0,
                        "impute": "prorate",
                        "never_impute": ["9"] if k == 9 else [],
                    },
                }
            ],
            "derived": [
                {
                    "name": "short2",
                    "label": _L,
                    "items": ["1", "2"],
                    "method": "sum",
                    "missing": {"max_missing": 0, "impute": "none"},
                }
            ],
            "bands": {
                "total": _bands([0, 5, 10, 15, 20] if k == 9 else [0, 5, 10, 15]),
                "short2": _bands([0, 3]),
            },
        }
    return definition_from_document(doc, f"<stand-in {code}>")


def battery() -> list[tuple[Definition, str]]:
    out = []
    for code in BATTERY:
        try:
            out.append((get_definition(code), "library"))
        except UnknownInstrumentError:
            out.append((_stand_in(code), "stand-in"))
    return out


def synthetic(defn: Definition, n: int, rng: np.random.Generator) -> tuple[Any, Any]:
    """Answers and item times of n respondents, item-major and handed over as (n x items) views."""
    k = len(defn.items)
    answers = np.empty((k, n))
    # one latent severity per student (mostly low, a long tail), so answers correlate across items
    severity = rng.beta(0.6, 5.0, size=n)
    for j, item in enumerate(defn.items):
        codes = np.array(defn.option_codes(item), dtype=np.float64)
        answers[j] = codes[rng.binomial(len(codes) - 1, severity)]
    answers[rng.random((k, n)) < 0.02] = np.nan
    for j, item in enumerate(defn.items):
        if item.ask_if_any_of:  # a conditional question is only answered when it was shown
            idx = [defn.item_ids.index(i) for i in item.ask_if_any_of]
            shown = (answers[idx] >= (item.ask_if_min or 0)).any(axis=0)
            answers[j, ~shown] = np.nan
    times = rng.lognormal(mean=1.2, sigma=0.6, size=(k, n))
    return answers.T, times.T


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 responses")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="best of (3; 7 with --quick)")
    args = parser.parse_args()
    n = args.rows or (20_000 if args.quick else 1_000_000)
    repeats = args.repeats or (7 if args.quick else 3)  # small runs are noisier

    rng = np.random.default_rng(20261129)
    defs = battery()
    data = [synthetic(defn, n, rng) for defn, _ in defs]
    for defn, origin in defs:
        print(f"{defn.code} {defn.version} ({origin}): {len(defn.items)} items")

    results: list[MatrixResult] = []

    def score_all() -> None:
        results.clear()
        for (defn, _), (answers, times) in zip(defs, data, strict=True):
            results.append(score_matrix(defn, answers, times))

    def floor_all() -> None:
        for answers, _ in data:
            np.nansum(answers, axis=1)

    floor_s = best_of(repeats, floor_all)
    score_s = best_of(repeats, score_all)
    for res in results:
        flagged = int((~res.valid).sum())
        print(
            f"{res.instrument}: {len(res)} scored, {len(res.scores)} scores,"
            f" {len(res.bands)} banded,"
            f" {int(res.critical.any(axis=1).sum())} with a critical item, {flagged} invalid"
        )
    value = n / score_s
    floor = n / floor_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scoring {n} battery responses: {score_s:.3f} s; floor (nansum): {floor_s:.3f} s")
    print(
        f"RESULT score value={value:.0f} unit=responses/s floor={floor:.0f}"
        f" ratio={value / floor:.3f} peak_rss_mb={peak_mb:.0f}"
    )


if __name__ == "__main__":
    main()
