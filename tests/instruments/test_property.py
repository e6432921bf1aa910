"""Property: for random valid definitions and answer matrices, one response scored alone equals
its row of the matrix result; and both agree with a plain-Python reference of the scoring rules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinqiao.instruments.definition import Definition, definition_from_document
from xinqiao.instruments.engine import score_matrix, score_response

L = {"zh-Hans": "x", "en": "x"}


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    option_sets: dict[str, list[int]] = {}
    for s in range(draw(st.integers(1, 3))):
        lo = draw(st.integers(0, 1))
        codes = list(range(lo, lo + draw(st.integers(2, 5))))
        if draw(st.booleans()) and len(codes) > 2:
            codes.pop(1)  # a gap: sparse coding
        option_sets[f"s{s}"] = codes
    n_items = draw(st.integers(1, 10))
    items: list[dict[str, Any]] = []
    for j in range(n_items):
        opts = draw(st.sampled_from(sorted(option_sets)))
        codes = option_sets[opts]
        item: dict[str, Any] = {"id": f"i{j}", "options": opts, "reverse": draw(st.booleans())}
        if draw(st.booleans()):
            item["critical"] = {"min_code": draw(st.sampled_from(codes))}
        earlier = [it["id"] for it in items if "ask_if" not in it]
        if earlier and draw(st.integers(0, 4)) == 0:
            item["ask_if"] = {
                "any_of": draw(st.lists(st.sampled_from(earlier), min_size=1, unique=True)),
                "min_code": draw(st.integers(0, 3)),
            }
        if draw(st.integers(0, 5)) == 0:
            item["instructed"] = {"expected_code": draw(st.sampled_from(codes))}
        items.append(item)
    ids = [it["id"] for it in items]

    def score_spec(name: str) -> dict[str, Any]:
        chosen = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        method = draw(st.sampled_from(["sum", "mean", "count_at_least"]))
        spec: dict[str, Any] = {
            "name": name,
            "label": L,
            "items": chosen,
            "method": method,
            "missing": {
                "max_missing": draw(st.integers(0, len(chosen))),
                "impute": draw(st.sampled_from(["prorate", "mean", "none"])),
                "never_impute": draw(st.lists(st.sampled_from(chosen), unique=True, max_size=2)),
            },
        }
        if method == "count_at_least":
            spec["threshold"] = draw(st.integers(0, 4))
        if draw(st.booleans()):
            spec["round"] = draw(st.integers(0, 2))
        return spec

    scores = [score_spec(f"sc{k}") for k in range(draw(st.integers(1, 3)))]
    names = [s["name"] for s in scores]
    derived: list[dict[str, Any]] = []
    for k in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            derived.append(
                {
                    "name": f"d{k}",
                    "label": L,
                    "from_score": draw(st.sampled_from(names)),
                    "multiply": draw(st.sampled_from([1, 4, 0.5, -1])),
                    "add": draw(st.sampled_from([0, 10, -2.5])),
                }
            )
        else:
            derived.append(score_spec(f"d{k}"))
        names.append(f"d{k}")
    bands = {}
    for name in draw(st.lists(st.sampled_from(names), unique=True)):
        cuts = sorted(draw(st.lists(st.integers(-5, 30), min_size=1, max_size=4, unique=True)))
        ends: list[int | None] = [*cuts[1:], None if draw(st.booleans()) else cuts[-1] + 3]
        bands[name] = [
            {"code": f"b{b}", "min": lo, "max": hi, "label": L}
            for b, (lo, hi) in enumerate(zip(cuts, ends, strict=True))
        ]
    validity: dict[str, Any] = {}
    if draw(st.booleans()):
        validity["lie_scale"] = {
            "score": draw(st.sampled_from(names)),
            "invalid_at": draw(st.integers(0, 10)),
        }
    if len(ids) >= 2 and draw(st.booleans()):
        validity["inconsistent_pairs"] = [
            {
                "items": draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True)),
                "max_difference": draw(st.integers(0, 3)),
            }
        ]
    forward = [it["id"] for it in items if not it["reverse"]]
    backward = [it["id"] for it in items if it["reverse"]]
    if forward and backward and draw(st.booleans()):
        validity["straightline_blocks"] = [[forward[0], backward[0]]]
    if draw(st.booleans()):
        validity["checks"] = {
            "too_fast": {"min_median_seconds": draw(st.sampled_from([0.5, 1.0, 2.0]))},
            "repeated_pattern": {"min_repeats": 2},
        }
    norms = None
    if draw(st.booleans()):
        norms = {names[0]: {"F": {"8": {str(r): 40 + r for r in range(0, 20)}}}}
    return {
        "code": "PROP",
        "version": "1",
        "names": L,
        "respondent": "self",
        "licence": {"status": "custom", "holder": "", "source": "s", "notice": L},
        "text_shipped": False,
        "option_sets": {
            name: [{"code": c, "label": L} for c in codes] for name, codes in option_sets.items()
        },
        "items": items,
        "scores": scores,
        "derived": derived,
        "bands": bands,
        "validity": validity,
        "norms": norms,
    }


@st.composite
def cases(draw: st.DrawFn) -> tuple[Definition, np.ndarray, np.ndarray | None, dict[str, Any]]:
    defn = definition_from_document(draw(definitions()), "prop.yaml")
    n = draw(st.integers(1, 12))
    rows = []
    for _ in range(n):
        row = []
        for item in defn.items:
            codes = defn.option_codes(item)
            row.append(draw(st.one_of(st.none(), st.sampled_from(codes))))
        rows.append([math.nan if v is None else float(v) for v in row])
    answers = np.array(rows, dtype=np.float64).reshape(n, len(defn.items))
    times = None
    if draw(st.booleans()):
        vals = st.one_of(st.none(), st.sampled_from([0.2, 0.5, 0.9, 1.0, 1.5, 2.0, 3.0, 8.0]))
        times = np.array(
            [[math.nan if (v := draw(vals)) is None else v for _ in defn.items] for _ in range(n)],
            dtype=np.float64,
        ).reshape(n, len(defn.items))
    kwargs: dict[str, Any] = {}
    if draw(st.booleans()):
        kwargs["cohort_median_seconds"] = draw(st.sampled_from([5.0, 20.0]))
    if draw(st.booleans()):
        kwargs["sex"], kwargs["grade"] = draw(st.sampled_from([("F", 8), ("M", 8), ("F", "7")]))
    return defn, answers, times, kwargs


def reference_scores(defn: Definition, row: list[int | None]) -> dict[str, float | None]:
    """The published rules written out plainly, one response at a time."""
    by_id = {item.id: (item, v) for item, v in zip(defn.items, row, strict=True)}
    applicable = {}
    for item in defn.items:
        applicable[item.id] = not item.ask_if_any_of or any(
            by_id[t][1] is not None and by_id[t][1] >= (item.ask_if_min or 0)
            for t in item.ask_if_any_of
        )

    def keyed(item_id: str) -> float | None:
        item, v = by_id[item_id]
        if v is None or not applicable[item_id]:
            return None
        codes = defn.option_codes(item)
        return float(min(codes) + max(codes) - v) if item.reverse else float(v)

    out: dict[str, float | None] = {}
    for spec in defn.all_scores:
        if spec.from_score is not None:
            base = out[spec.from_score]
            out[spec.name] = None if base is None else base * spec.multiply + spec.add
            continue
        shown = [i for i in spec.items if applicable[i]]
        values = [keyed(i) for i in shown]
        answered = [v for v in values if v is not None]
        if spec.method == "count_at_least":
            answered = [1.0 if v >= (spec.threshold or 0) else 0.0 for v in answered]
        if (
            not answered
            or len(shown) - len(answered) > spec.max_missing
            or any(applicable[i] and keyed(i) is None for i in spec.never_impute)
        ):
            out[spec.name] = None
            continue
        total = sum(answered)
        if spec.method == "mean" or spec.impute == "mean":
            value = total / len(answered)
        elif spec.impute == "prorate" and len(answered) < len(shown):
            value = total * len(shown) / len(answered)
        else:
            value = total
        if spec.round is not None:
            value = math.floor(value * 10**spec.round + 0.5) / 10**spec.round
        out[spec.name] = value
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_single_response_equals_matrix_row(case):
    defn, answers, times, kwargs = case
    matrix = score_matrix(defn, answers, times, **kwargs)
    for i in range(answers.shape[0]):
        row = [None if math.isnan(v) else int(v) for v in answers[i]]
        time_row = None if times is None else [None if math.isnan(t) else t for t in times[i]]
        single = score_response(defn, row, time_row, **kwargs)
        assert single == matrix.row(i)
        # critical items stand alone: positive code, whatever the flags and totals
        assert single.critical == [
            item.id
            for item, v in zip(defn.items, row, strict=True)
            if item.critical_min is not None
            and v is not None
            and v >= item.critical_min
            and item.id not in _not_applicable(defn, row)
        ]
        expected = reference_scores(defn, row)
        got = {k: v for k, v in single.scores.items() if not k.endswith("_t")}
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            if value is None:
                assert got[name] is None, name
            else:
                assert got[name] is not None, name
                assert math.isclose(got[name], value, rel_tol=1e-12), name


def _not_applicable(defn: Definition, row: list[int | None]) -> set[str]:
    values = dict(zip(defn.item_ids, row, strict=True))
    return {
        item.id
        for item in defn.items
        if item.ask_if_any_of
        and not any(
            values[t] is not None and values[t] >= (item.ask_if_min or 0)
            for t in item.ask_if_any_of
        )
    }
