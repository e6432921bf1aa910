"""The scoring engine: one vectorised implementation for one response or a million.

`score_response` scores a 1-row matrix through `score_matrix`, so both paths are the same code.
Internally the answer matrix is held item-major (items x respondents): every step is then a
handful of numpy operations on long contiguous vectors, with no Python loop over respondents.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
import numpy as np
import numpy.typing as npt

from .definition import (
    Definition,
    ScoreSpec,
    UnknownInstrumentError,
    get_definition,
    load_definition,
    load_library,
    parse_text,
)
from .schema import CHECK_NAMES, CHECKS_SCHEMA, DefinitionError

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_CHECKS",
    "AnswerError",
    "Definition",
    "DefinitionError",
    "MatrixResult",
    "Result",
    "UnknownInstrumentError",
    "get_definition",
    "load_definition",
    "load_library",
    "parse_text",
    "resolve_checks",
    "score_matrix",
    "score_response",
]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

DEFAULT_CHECKS: dict[str, dict[str, Any]] = {
    "too_fast": {
        "enabled": True,
        "invalidates": True,
        "min_median_seconds": 1.0,
        "cohort_fraction": 0.5,
    },
    "straightlining": {"enabled": True, "invalidates": True},
    "repeated_pattern": {"enabled": True, "invalidates": True, "max_period": 4, "min_repeats": 3},
    "extreme_fast": {"enabled": True, "invalidates": True, "max_median_seconds": 2.0},
    "inconsistent_pairs": {"enabled": True, "invalidates": True},
    "lie_scale": {"enabled": True, "invalidates": True},
    "instructed_item": {"enabled": True, "invalidates": True},
}


class AnswerError(ValueError):
    """Answers that do not fit: wrong length, code outside the options, not a number."""


def resolve_checks(
    defn: Definition, checks: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Defaults, then the instrument's `validity.checks`, then the per-call (campaign) settings."""
    if checks:
        try:
            jsonschema.validate(dict(checks), CHECKS_SCHEMA)
        except jsonschema.ValidationError as exc:
            raise ValueError(f"invalid checks setting: {exc.message}") from exc
    out = {name: dict(cfg) for name, cfg in DEFAULT_CHECKS.items()}
    for layer in (defn.checks, checks or {}):
        for name, value in layer.items():
            out[name].update({"enabled": value} if isinstance(value, bool) else value)
    return out


@dataclass(frozen=True)
class Result:
    instrument: str
    version: str
    scores: dict[str, float | None]
    bands: dict[str, str | None]
    critical: list[str]
    missing: list[str]
    flags: list[str]
    valid: bool

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "version": self.version,
            "scores": {k: _json_number(v) for k, v in self.scores.items()},
            "bands": dict(self.bands),
            "critical": list(self.critical),
            "missing": list(self.missing),
            "flags": list(self.flags),
            "valid": self.valid,
        }


def _json_number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class MatrixResult:
    """Scores of n responses. Arrays are indexed by response (first axis)."""

    instrument: str
    version: str
    scores: dict[str, Floats]  # name -> (n,), NaN = null
    band_codes: dict[str, tuple[str, ...]]
    bands: dict[str, npt.NDArray[np.int8]]  # name -> (n,) index into band_codes, -1 = null
    critical_items: tuple[str, ...]
    critical: Bools  # (n, len(critical_items))
    item_ids: tuple[str, ...]
    missing: Bools  # (n, items)
    flag_codes: tuple[str, ...]
    flags: Bools  # (n, len(flag_codes))
    valid: Bools  # (n,)
    norm_scores: dict[str, Floats]  # "<score>_t" -> (n,), NaN = null
    norm_available: dict[str, Bools]  # "<score>_t" -> (n,), a norm table exists for the row

    def __len__(self) -> int:
        return int(self.valid.shape[0])

    def band_labels(self, name: str) -> npt.NDArray[np.object_]:
        """Band codes as an object array (None where null), for reports."""
        table = np.array([*self.band_codes[name], None], dtype=object)
        return table[self.bands[name]]  # index -1 picks the trailing None

    def row(self, i: int) -> Result:
        scores: dict[str, float | None] = {
            name: _py_float(values[i]) for name, values in self.scores.items()
        }
        for name, values in self.norm_scores.items():
            if self.norm_available[name][i]:
                scores[name] = _py_float(values[i])
        return Result(
            instrument=self.instrument,
            version=self.version,
            scores=scores,
            bands={
                name: (self.band_codes[name][b] if (b := int(idx[i])) >= 0 else None)
                for name, idx in self.bands.items()
            },
            critical=[
                c for c, hit in zip(self.critical_items, self.critical[i], strict=True) if hit
            ],
            missing=[m for m, hit in zip(self.item_ids, self.missing[i], strict=True) if hit],
            flags=[f for f, hit in zip(self.flag_codes, self.flags[i], strict=True) if hit],
            valid=bool(self.valid[i]),
        )


def _py_float(value: np.floating[Any]) -> float | None:
    return None if np.isnan(value) else float(value)


# --- compiled plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _ScorePlan:
    spec: ScoreSpec
    cols: npt.NDArray[np.intp]
    never_cols: npt.NDArray[np.intp]


@dataclass(frozen=True)
class _Plan:
    k: int
    lo: Floats  # min option code per item
    hi: Floats  # max option code per item
    sparse_codes: tuple[tuple[npt.NDArray[np.intp], Floats], ...]  # option sets with gaps
    reverse: npt.NDArray[np.intp]
    ask_if: tuple[tuple[int, npt.NDArray[np.intp], float], ...]
    critical: tuple[tuple[int, float], ...]
    instructed: tuple[tuple[int, float], ...]
    scores: tuple[_ScorePlan, ...]
    unconditional: npt.NDArray[np.intp]  # items always shown, in order
    scored_unconditional: npt.NDArray[np.intp]
    straightline_blocks: tuple[npt.NDArray[np.intp], ...]
    pairs: tuple[tuple[int, int, float], ...]


_PLANS: weakref.WeakKeyDictionary[Definition, _Plan] = weakref.WeakKeyDictionary()


def _plan(defn: Definition) -> _Plan:
    plan = _PLANS.get(defn)
    if plan is None:
        plan = _PLANS[defn] = _compile(defn)
    return plan


def _compile(defn: Definition) -> _Plan:
    idx = {item.id: j for j, item in enumerate(defn.items)}

    def cols(ids: Sequence[str]) -> npt.NDArray[np.intp]:
        return np.array([idx[i] for i in ids], dtype=np.intp)

    codes = [defn.option_codes(item) for item in defn.items]
    lo = np.array([min(c) for c in codes], dtype=np.float64)
    hi = np.array([max(c) for c in codes], dtype=np.float64)
    sparse: dict[str, list[int]] = {}
    for j, item in enumerate(defn.items):
        if len(codes[j]) != hi[j] - lo[j] + 1:
            sparse.setdefault(item.options, []).append(j)
    conditional = {j for j, item in enumerate(defn.items) if item.ask_if_any_of}
    unconditional = np.array([j for j in range(len(defn.items)) if j not in conditional], np.intp)
    scored = sorted({idx[i] for s in defn.all_scores for i in s.items} - conditional)
    blocks = [cols(b) for b in defn.straightline_blocks]
    if not blocks:
        keyings = {defn.items[j].reverse for j in unconditional}
        if len(keyings) == 2:  # only a block that mixes keyings shows careless answering
            blocks = [unconditional]
    return _Plan(
        k=len(defn.items),
        lo=lo,
        hi=hi,
        sparse_codes=tuple(
            (np.array(js, np.intp), np.array(sorted(codes[js[0]]), np.float64))
            for js in sparse.values()
        ),
        reverse=np.array([j for j, it in enumerate(defn.items) if it.reverse], np.intp),
        ask_if=tuple(
            (j, cols(it.ask_if_any_of), float(it.ask_if_min or 0))
            for j, it in enumerate(defn.items)
            if it.ask_if_any_of
        ),
        critical=tuple(
            (j, float(it.critical_min))
            for j, it in enumerate(defn.items)
            if it.critical_min is not None
        ),
        instructed=tuple(
            (j, float(it.instructed))
            for j, it in enumerate(defn.items)
            if it.instructed is not None
        ),
        scores=tuple(
            _ScorePlan(
                spec=s,
                cols=cols(s.items),
                never_cols=cols(s.never_impute),
            )
            for s in defn.all_scores
        ),
        unconditional=unconditional,
        scored_unconditional=np.array(scored, np.intp),
        straightline_blocks=tuple(blocks),
        pairs=tuple((idx[a], idx[b], float(d)) for a, b, d in defn.inconsistent_pairs),
    )


# --- public API ------------------------------------------------------------------------------


def score_response(
    defn: Definition,
    answers: Sequence[int | float | None],
    times: Sequence[float | None] | None = None,
    *,
    sex: str | None = None,
    grade: int | str | None = None,
    cohort_median_seconds: float | None = None,
    checks: Mapping[str, Any] | None = None,
) -> Result:
    """Score one response: the matrix path on a 1-row matrix, so the results cannot differ."""
    row = _row(defn, answers, "answers")
    time_row = None if times is None else _row(defn, times, "times")
    result = score_matrix(
        defn,
        row,
        time_row,
        sex=sex,
        grade=grade,
        cohort_median_seconds=cohort_median_seconds,
        checks=checks,
    )
    return result.row(0)


def _row(defn: Definition, values: Sequence[int | float | None], what: str) -> Floats:
    if isinstance(values, str | bytes):
        raise AnswerError(f"{what} must be a sequence of numbers")
    if len(values) != len(defn.items):
        raise AnswerError(
            f"{defn.code} has {len(defn.items)} items, but {len(values)} {what} were given"
        )
    out = np.empty((1, len(values)), dtype=np.float64)
    for j, v in enumerate(values):
        if v is None:
            out[0, j] = np.nan
        elif isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise AnswerError(f"item {defn.items[j].id}: {what[:-1]} {v!r} is not a number")
        else:
            out[0, j] = v
    return out


def score_matrix(
    defn: Definition,
    answers: npt.ArrayLike,
    times: npt.ArrayLike | None = None,
    *,
    sex: str | Sequence[str | None] | None = None,
    grade: int | str | Sequence[int | str | None] | None = None,
    cohort_median_seconds: float | npt.ArrayLike | None = None,
    checks: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> MatrixResult:
    """Score an (n x items) matrix of option codes (NaN = missing or not applicable)."""
    plan = _plan(defn)
    cfg = resolve_checks(defn, checks)
    a = np.asarray(answers, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != plan.k:
        raise AnswerError(f"{defn.code} needs an (n x {plan.k}) answer matrix, got {a.shape}")
    n = a.shape[0]
    x = np.ascontiguousarray(a.T)  # item-major; free when the caller built it column-major
    if validate:
        _validate_codes(defn, plan, x)

    # Items not shown (ask_if) are "not applicable": blanked, and never counted as missing.
    hidden: dict[int, Bools] = {}
    with np.errstate(invalid="ignore"):
        for j, triggers, min_code in plan.ask_if:
            hidden[j] = np.logical_not((x[triggers] >= min_code).any(axis=0))
    if hidden and np.may_share_memory(x, a):
        x = x.copy()  # never write into the caller's matrix
    for j, not_shown in hidden.items():
        x[j, not_shown] = np.nan
    missing = np.isnan(x)
    answered = ~missing
    for j, not_shown in hidden.items():
        missing[j] &= ~not_shown

    # Keyed values: reverse items become (min + max) - code; NaN stays NaN.
    keyed = x
    if plan.reverse.size:
        keyed = x.copy()
        keyed[plan.reverse] = (plan.lo + plan.hi)[plan.reverse, None] - x[plan.reverse]
    keyed0 = np.where(answered, keyed, 0.0)

    scores: dict[str, Floats] = {}
    for sp in plan.scores:
        scores[sp.spec.name] = _score(sp, scores, keyed, keyed0, answered, missing, hidden)

    band_codes = {name: tuple(b.code for b in bands) for name, bands in defn.bands.items()}
    bands = {name: _band_index(scores[name], defn.bands[name]) for name in defn.bands}

    critical = np.zeros((len(plan.critical), n), dtype=bool)
    for c, (j, min_code) in enumerate(plan.critical):
        critical[c] = x[j] >= min_code  # on its own: no total, missing rule or flag involved

    flags, invalidating = _flags(
        defn, plan, cfg, x, keyed, answered, scores, times, cohort_median_seconds, n
    )
    valid: Bools = ~np.any(flags[invalidating], axis=0, keepdims=False).astype(bool)

    norm_scores, norm_available = _norms(defn, scores, sex, grade, n)
    return MatrixResult(
        instrument=defn.code,
        version=defn.version,
        scores=scores,
        band_codes=band_codes,
        bands=bands,
        critical_items=tuple(defn.items[j].id for j, _ in plan.critical),
        critical=critical.T,
        item_ids=defn.item_ids,
        missing=missing.T,
        flag_codes=CHECK_NAMES,
        flags=flags.T,
        valid=valid,
        norm_scores=norm_scores,
        norm_available=norm_available,
    )


# --- steps -----------------------------------------------------------------------------------


_ROUNDER = 1.5 * 2.0**52  # x + R - R rounds to the nearest integer for |x| < 2^51


def _validate_codes(defn: Definition, plan: _Plan, x: Floats) -> None:
    """Refuse codes outside the options. Per-item reductions first (cheap, NaN-ignoring); the
    element-wise search for the offending cell runs only when something is wrong."""
    if x.shape[1] == 0:
        return
    frac = x + _ROUNDER
    frac -= _ROUNDER
    frac -= x
    np.abs(frac, out=frac)
    with np.errstate(invalid="ignore"):
        bad = (
            (np.fmin.reduce(x, axis=1) < plan.lo)
            | (np.fmax.reduce(x, axis=1) > plan.hi)
            | (np.fmax.reduce(frac, axis=1) > 0)
        )
    for js, codes in plan.sparse_codes:
        bad[js] |= ~(np.isin(x[js], codes) | np.isnan(x[js])).all(axis=1)
    if not bad.any():
        return
    with np.errstate(invalid="ignore"):
        ok = (x >= plan.lo[:, None]) & (x <= plan.hi[:, None]) & (x == np.floor(x))
    for js, codes in plan.sparse_codes:
        ok[js] &= np.isin(x[js], codes)
    ok |= np.isnan(x)
    j, i = (int(v[0]) for v in np.nonzero(~ok))
    item = defn.items[j]
    allowed = ", ".join(str(c) for c in defn.option_codes(item))
    where = f"row {i + 1}, " if x.shape[1] > 1 else ""
    raise AnswerError(
        f"{where}item {item.id}: {_fmt(x[j, i])} is not one of the option codes ({allowed})"
    )


def _fmt(value: float) -> str:
    value = float(value)
    return str(int(value)) if np.isfinite(value) and value.is_integer() else repr(value)


def _sum_rows(m: npt.NDArray[Any], rows: npt.NDArray[np.intp], dtype: type) -> npt.NDArray[Any]:
    """Sum item rows one after another: fixed order, so n = 1 and n = 10^6 add identically."""
    acc: npt.NDArray[Any] = np.zeros(m.shape[1], dtype=dtype)
    for j in rows:
        acc += m[j]
    return acc


def _score(
    sp: _ScorePlan,
    scores: Mapping[str, Floats],
    keyed: Floats,
    keyed0: Floats,
    answered: Bools,
    missing: Bools,
    hidden: Mapping[int, Bools],
) -> Floats:
    spec = sp.spec
    if spec.from_score is not None:
        return scores[spec.from_score] * spec.multiply + spec.add
    if spec.method == "count_at_least":
        assert spec.threshold is not None  # guaranteed by the schema checks
        with np.errstate(invalid="ignore"):
            hits = keyed[sp.cols] >= spec.threshold
        total = _sum_rows(hits, np.arange(len(sp.cols)), np.float64)
    else:
        total = _sum_rows(keyed0, sp.cols, np.float64)
    n_answered = _sum_rows(answered, sp.cols, np.int32)
    n_items: Any = np.int32(len(sp.cols))
    for j in sp.cols:
        if int(j) in hidden:  # a not-applicable item does not count as an item of the score
            n_items = n_items - hidden[int(j)]
    null = (n_items - n_answered > spec.max_missing) | (n_answered == 0)
    if sp.never_cols.size:
        null |= missing[sp.never_cols].any(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.method == "mean" or spec.impute == "mean":
            value = total / n_answered
        elif spec.impute == "prorate":
            # exact for complete rows; scaling by n_items/n_answered == mean-substitution
            value = np.where(n_answered == n_items, total, total * n_items / n_answered)
        else:
            value = total
    if spec.round is not None:
        scale = 10.0**spec.round
        value = np.floor(value * scale + 0.5) / scale  # half up, as published scoring rules do
    value = np.where(null, np.nan, value)
    return np.asarray(value, dtype=np.float64)


def _band_index(values: Floats, bands: Sequence[Any]) -> npt.NDArray[np.int8]:
    """Index of the half-open band [min, max) holding each value; -1 for none (or null)."""
    out = np.full(values.shape, -1, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for band in bands:  # sorted by min: count the lower edges at or below the value
            np.add(out, values >= band.min, out=out, casting="unsafe")
        maxes = np.array([np.inf if b.max is None else b.max for b in bands])
        contiguous = all(a.max == b.min for a, b in itertools.pairwise(bands))
        if not (contiguous and bands[-1].max is None):  # gaps or a closed top: check max too
            out[values >= maxes[np.maximum(out, 0)]] = -1
    return out


def _median_below(t: Floats, has: Bools, count: npt.NDArray[np.int32], limit: float) -> Bools:
    """Per column: median of the non-NaN times < limit, without sorting.

    With m values of which b are below the limit: odd m -> b > m/2; even m -> b > m/2, or
    b == m/2 and (largest below + smallest at/above) / 2 < limit.
    """
    with np.errstate(invalid="ignore"):
        below = t < limit
    b = np.add.reduce(below, axis=0, dtype=np.int32)
    result = (2 * b > count) & (count > 0)
    tie = (2 * b == count) & (count > 0)
    if tie.any():
        cols = np.flatnonzero(tie)
        sub, sub_below, sub_has = t[:, cols], below[:, cols], has[:, cols]
        lower = np.where(sub_below, sub, -np.inf).max(axis=0)
        upper = np.where(sub_has & ~sub_below, sub, np.inf).min(axis=0)
        result[cols] = lower + upper < 2 * limit
    return result


def _flags(
    defn: Definition,
    plan: _Plan,
    cfg: Mapping[str, Mapping[str, Any]],
    x: Floats,
    keyed: Floats,
    answered: Bools,
    scores: Mapping[str, Floats],
    times: npt.ArrayLike | None,
    cohort_median_seconds: float | npt.ArrayLike | None,
    n: int,
) -> tuple[Bools, Bools]:
    flags = np.zeros((len(CHECK_NAMES), n), dtype=bool)
    on = {name: bool(cfg[name]["enabled"]) for name in CHECK_NAMES}
    pos = {name: f for f, name in enumerate(CHECK_NAMES)}

    if times is not None and (on["too_fast"] or on["extreme_fast"]):
        t = np.asarray(times, dtype=np.float64)
        if t.shape != (n, plan.k):
            raise AnswerError(f"times must have the shape of the answers ({n} x {plan.k})")
        t = np.ascontiguousarray(t.T)
        has = ~np.isnan(t)
        count = np.add.reduce(has, axis=0, dtype=np.int32)
        if on["too_fast"]:
            c = cfg["too_fast"]
            fast = _median_below(t, has, count, float(c["min_median_seconds"]))
            if cohort_median_seconds is not None:
                total = _sum_rows(np.where(has, t, 0.0), np.arange(plan.k), np.float64)
                cohort = np.broadcast_to(np.asarray(cohort_median_seconds, np.float64), (n,))
                with np.errstate(invalid="ignore"):
                    fast |= (count > 0) & (total < float(c["cohort_fraction"]) * cohort)
            flags[pos["too_fast"]] = fast
        if on["extreme_fast"] and plan.scored_unconditional.size:
            c = cfg["extreme_fast"]
            # few respondents are quick: look at the answers of those only
            quick = np.flatnonzero(_median_below(t, has, count, float(c["max_median_seconds"])))
            scored = plan.scored_unconditional
            sub = keyed[np.ix_(scored, quick)]
            lo, hi = plan.lo[scored, None], plan.hi[scored, None]
            flags[pos["extreme_fast"], quick] = (sub == lo).all(axis=0) | (sub == hi).all(axis=0)

    if on["straightlining"]:
        for block in plan.straightline_blocks:
            first = x[block[0]]
            flags[pos["straightlining"]] |= (x[block[1:]] == first).all(axis=0)

    if on["repeated_pattern"]:
        c = cfg["repeated_pattern"]
        u = plan.unconditional
        for p in range(2, int(c["max_period"]) + 1):
            if len(u) < p * int(c["min_repeats"]):
                break
            # candidates: a varied first cycle (a constant one is straightlining) that recurs once;
            # only those few columns are gathered for the full comparison
            first = x[u[0]]
            varied = x[u[1]] != first
            for i in range(2, p):
                varied |= x[u[i]] != first
            cand = np.flatnonzero(varied & (x[u[p]] == first))
            seq = x[np.ix_(u, cand)]
            flags[pos["repeated_pattern"], cand] |= (seq[p:] == seq[:-p]).all(axis=0)

    if on["inconsistent_pairs"]:
        with np.errstate(invalid="ignore"):
            for a, b, max_diff in plan.pairs:
                flags[pos["inconsistent_pairs"]] |= np.abs(keyed[a] - keyed[b]) > max_diff

    if on["lie_scale"] and defn.lie_scale is not None:
        name, invalid_at = defn.lie_scale
        with np.errstate(invalid="ignore"):
            flags[pos["lie_scale"]] = scores[name] >= invalid_at

    if on["instructed_item"]:
        for j, expected in plan.instructed:
            flags[pos["instructed_item"]] |= answered[j] & (x[j] != expected)

    invalidating = np.array([bool(cfg[name]["invalidates"]) for name in CHECK_NAMES])
    return flags, invalidating


def _norms(
    defn: Definition,
    scores: Mapping[str, Floats],
    sex: Any,
    grade: Any,
    n: int,
) -> tuple[dict[str, Floats], dict[str, Bools]]:
    if not defn.norms or sex is None or grade is None:
        return {}, {}
    sexes = np.broadcast_to(np.asarray(sex, dtype=object), (n,))
    grades = np.broadcast_to(np.asarray(grade, dtype=object), (n,)).astype(str)
    values: dict[str, Floats] = {}
    available: dict[str, Bools] = {}
    for score, by_sex in defn.norms.items():
        out = np.full(n, np.nan)
        has = np.zeros(n, dtype=bool)
        raw = np.floor(scores[score] + 0.5)  # tables are by whole raw score; prorated scores round
        for sex_key, by_group in by_sex.items():
            for group, table in by_group.items():
                rows = (sexes == sex_key) & (grades == group)
                if not rows.any():
                    continue
                has |= rows
                keys = np.array(sorted(table), dtype=np.float64)
                ts = np.array([table[k] for k in keys], dtype=np.float64)
                at = np.clip(np.searchsorted(keys, raw), 0, len(keys) - 1)
                hit = rows & (keys[at] == raw)
                out[hit] = ts[at[hit]]
        values[f"{score}_t"] = out
        available[f"{score}_t"] = has
    return values, available
