"""Engine unit tests with hand-computed cases on small synthetic definitions."""

from __future__ import annotations

import numpy as np
import pytest

from xinqiao.instruments.engine import AnswerError, score_matrix, score_response

from .test_engine_helpers import L, base_doc, freq4, make

DEF = make()


def score(answers, times=None, defn=DEF, **kw):
    return score_response(defn, answers, times, **kw)


# --- sums, reverse items, bands ---------------------------------------------------------------


def test_all_lowest_codes_reverse_item_counts_three():
    # item 4 is reverse-keyed: code 0 -> 3, so the lowest codes give 3, not 0
    result = score([0, 0, 0, 0, 0])
    assert result.scores == {"total": 3.0}
    assert result.bands == {"total": "low"}


def test_all_highest_codes_reverse_item_counts_zero():
    result = score([3, 3, 3, 3, 3])
    assert result.scores == {"total": 12.0}
    assert result.bands == {"total": "high"}
    assert result.critical == ["5"]


def test_json_dict_has_exactly_the_contract_keys():
    assert score([1, 2, 0, 3, 0]).to_json_dict() == {
        "instrument": "TEST",
        "version": "1.0",
        "scores": {"total": 3},
        "bands": {"total": "low"},
        "critical": [],
        "missing": [],
        "flags": [],
        "valid": True,
    }


@pytest.mark.parametrize(
    ("answers", "band"),
    [
        ([1, 1, 0, 3, 0], "low"),  # 2
        ([1, 1, 2, 3, 0], "low"),  # 4: just below 5
        ([1, 2, 2, 3, 0], "mid"),  # 5: lower edge belongs to the upper band
        ([3, 3, 3, 3, 0], "mid"),  # 9
        ([3, 3, 3, 2, 0], "high"),  # 10: edge of the open band
    ],
)
def test_bands_are_half_open(answers, band):
    assert score(answers).bands == {"total": band}


def test_value_outside_every_band_has_null_band():
    defn = make(bands={"total": [{"code": "mid", "min": 5, "max": 10, "label": L}]})
    assert score([0, 0, 0, 3, 0], defn=defn).bands == {"total": None}


# --- missing data ----------------------------------------------------------------------------


def test_prorating_within_limit_uses_mean_of_answered_items():
    # answered: 2 + 2 + (3-1=2) + 1 = 7 over 4 items -> 7 * 5 / 4 = 8.75
    result = score([2, None, 2, 1, 1])
    assert result.scores == {"total": 8.75}
    assert result.missing == ["2"]
    assert result.bands == {"total": "mid"}


def test_beyond_missing_limit_score_is_null():
    result = score([2, None, None, 1, 1])
    assert result.scores == {"total": None}
    assert result.bands == {"total": None}
    assert result.missing == ["2", "3"]


def test_never_imputed_item_missing_makes_score_null():
    assert score([2, 2, 2, 1, None]).scores == {"total": None}


def test_impute_none_sums_answered_only():
    doc = base_doc()
    doc["scores"][0]["missing"] = {"max_missing": 2, "impute": "none"}
    assert score([2, None, 2, 1, None], defn=make(scores=doc["scores"])).scores == {"total": 6.0}


def test_mean_method_and_mean_impute():
    doc = base_doc()
    doc["scores"][0].update(method="mean", missing={"max_missing": 1, "impute": "mean"})
    assert score([2, None, 2, 1, 1], defn=make(scores=doc["scores"])).scores == {"total": 1.75}


def test_count_at_least_counts_keyed_values():
    doc = base_doc()
    doc["scores"][0].update(
        method="count_at_least", threshold=2, missing={"max_missing": 0, "impute": "none"}
    )
    # keyed: 2, 3, 0, (3-3)=0, 2 -> two... plus item 2 -> three at least 2
    assert score([2, 3, 0, 3, 2], defn=make(scores=doc["scores"])).scores == {"total": 3.0}


def test_rounding_is_half_up():
    doc = base_doc()
    doc["scores"][0]["round"] = 0
    # 2 + 1 + 2 + 1 = 6 over 4 -> 7.5 -> 8 (numpy's round would give 8 too; 6.5 would differ)
    assert score([2, None, 1, 1, 1], defn=make(scores=doc["scores"])).scores == {"total": 8.0}
    # 1 + 1 + 2 + 1 = 5 -> 6.25 -> 6
    assert score([1, None, 1, 1, 1], defn=make(scores=doc["scores"])).scores == {"total": 6.0}


# --- derived scores --------------------------------------------------------------------------


DERIVED = make(
    derived=[
        {
            "name": "short",
            "label": L,
            "items": ["1", "2"],
            "method": "sum",
            "missing": {"max_missing": 0, "impute": "none"},
        },
        {"name": "percent", "label": L, "from_score": "total", "multiply": 4, "add": 1},
    ],
    bands={
        "short": [
            {"code": "neg", "min": 0, "max": 3, "label": L},
            {"code": "pos", "min": 3, "max": None, "label": L},
        ]
    },
)


def test_derived_from_items_and_from_score():
    result = score([1, 2, 0, 3, 0], defn=DERIVED)
    assert result.scores == {"total": 3.0, "short": 3.0, "percent": 13.0}
    assert result.bands == {"short": "pos"}


def test_derived_items_obey_their_own_missing_rule_and_from_score_follows_null():
    result = score([1, None, 0, 3, None], defn=DERIVED)
    assert result.scores == {"total": None, "short": None, "percent": None}


# --- ask_if ----------------------------------------------------------------------------------


ASK = make(
    items=[
        *base_doc()["items"],
        {"id": "6", "options": "freq4", "ask_if": {"any_of": ["1", "5"], "min_code": 2}},
    ],
    scores=[
        {
            "name": "total",
            "label": L,
            "items": ["1", "2", "3", "6"],
            "method": "sum",
            "missing": {"max_missing": 0, "impute": "none"},
        }
    ],
    bands={},
)


def test_item_not_shown_is_not_applicable_not_missing():
    result = score([1, 1, 1, 0, 1, None], defn=ASK)
    assert result.missing == []
    assert result.scores == {"total": 3.0}


def test_item_shown_but_unanswered_is_missing():
    result = score([1, 1, 1, 0, 2, None], defn=ASK)
    assert result.missing == ["6"]
    assert result.scores == {"total": None}


def test_answer_to_item_not_shown_is_ignored():
    assert score([1, 1, 1, 0, 0, 3], defn=ASK).scores == {"total": 3.0}


def test_shown_item_counts():
    assert score([2, 1, 1, 0, 0, 3], defn=ASK).scores == {"total": 7.0}


# --- critical items --------------------------------------------------------------------------


def test_critical_item_reported_even_when_total_null_and_response_invalid():
    # total null (two missing); fast and straight-lined -> invalid; item 5 still critical
    result = score([1, None, None, 1, 1], [0.2] * 5)
    assert result.scores == {"total": None}
    assert not result.valid
    assert result.critical == ["5"]


def test_missing_critical_item_is_missing_not_critical():
    result = score([1, 1, 1, 1, None])
    assert (result.critical, result.missing) == ([], ["5"])


# --- validity flags --------------------------------------------------------------------------


def test_too_fast_median_below_one_second():
    result = score([1, 2, 0, 3, 0], [0.5, 0.9, 5, 6, 0.8])
    assert result.flags == ["too_fast"]
    assert not result.valid


def test_median_at_one_second_is_not_too_fast():
    assert score([1, 2, 0, 3, 0], [0.5, 0.9, 1.0, 6, 7]).flags == []


def test_too_fast_even_count_uses_mean_of_middle_values():
    # times 0.5, 0.9, 1.2, 6 (item 5 untimed): median (0.9 + 1.2) / 2 = 1.05 -> not fast
    assert score([1, 2, 0, 3, 0], [0.5, 0.9, 1.2, 6, None]).flags == []
    # 0.5, 0.9, 1.05, 6: median 0.975 -> fast
    assert score([1, 2, 0, 3, 0], [0.5, 0.9, 1.05, 6, None]).flags == ["too_fast"]


def test_too_fast_against_cohort_median():
    times = [2, 2, 2, 2, 2]  # total 10 s
    assert score([1, 2, 0, 3, 0], times, cohort_median_seconds=19.9).flags == []
    assert score([1, 2, 0, 3, 0], times, cohort_median_seconds=20.1).flags == ["too_fast"]


def test_no_times_no_time_flags():
    assert score([1, 2, 0, 3, 0], None, cohort_median_seconds=100).flags == []


def test_straightlining_over_mixed_keying_by_default():
    result = score([2, 2, 2, 2, 2])
    assert result.flags == ["straightlining"]
    assert not result.valid


def test_no_straightlining_flag_without_mixed_keying():
    defn = make(items=[{"id": str(i), "options": "freq4"} for i in range(1, 6)], bands={})
    assert score([2, 2, 2, 2, 2], defn=defn).flags == []


def test_straightlining_configured_block_only():
    defn = make(validity={"straightline_blocks": [["3", "4"]]})
    assert score([0, 1, 2, 2, 0], defn=defn).flags == ["straightlining"]
    assert score([2, 2, 2, 1, 2], defn=defn).flags == []


def test_repeated_pattern():
    defn = make(
        items=[{"id": str(i), "options": "freq4"} for i in range(1, 7)],
        scores=[
            {"name": "total", "label": L, "items": [str(i) for i in range(1, 7)], "method": "sum"}
        ],
        bands={},
    )
    assert score([0, 1, 0, 1, 0, 1], defn=defn).flags == ["repeated_pattern"]
    assert score([0, 1, 0, 1, 0, 2], defn=defn).flags == []
    # a 3-cycle needs 9 items for 3 repeats: not enough here
    assert score([0, 1, 2, 0, 1, 2], defn=defn).flags == []
    checks = {"repeated_pattern": {"min_repeats": 2}}
    assert score([0, 1, 2, 0, 1, 2], defn=defn, checks=checks).flags == ["repeated_pattern"]


def test_extreme_fast_needs_extreme_score_and_short_time():
    # keyed minimum: codes 0,0,0,3(rev->0),0 with median 1.5 s (not too fast, but short)
    assert score([0, 0, 0, 3, 0], [1.5] * 5).flags == ["extreme_fast"]
    assert score([0, 0, 0, 3, 0], [2.5] * 5).flags == []
    assert score([3, 3, 3, 0, 3], [1.5] * 5).flags == ["extreme_fast"]
    assert score([0, 0, 1, 3, 0], [1.5] * 5).flags == []


def test_inconsistent_pairs_use_keyed_values():
    defn = make(validity={"inconsistent_pairs": [{"items": ["1", "4"], "max_difference": 1}]})
    # item 4 code 0 -> keyed 3; item 1 code 0: difference 3 > 1
    assert score([0, 1, 1, 0, 0], defn=defn).flags == ["inconsistent_pairs"]
    assert score([0, 1, 1, 3, 0], defn=defn).flags == []


def test_lie_scale_at_threshold_invalidates():
    defn = make(
        scores=[
            *base_doc()["scores"],
            {"name": "lie", "label": L, "items": ["1", "2"], "method": "sum"},
        ],
        validity={"lie_scale": {"score": "lie", "invalid_at": 5}},
    )
    assert score([2, 2, 0, 3, 0], defn=defn).flags == []
    result = score([2, 3, 0, 3, 1], defn=defn)
    assert result.flags == ["lie_scale"]
    assert not result.valid
    assert result.critical == ["5"]


def test_instructed_item_answered_wrongly():
    items = base_doc()["items"]
    items[2]["instructed"] = {"expected_code": 2}
    defn = make(items=items)
    assert score([1, 0, 2, 3, 0], defn=defn).flags == []
    assert score([1, 0, 1, 3, 0], defn=defn).flags == ["instructed_item"]
    assert score([1, 0, None, 3, 0], defn=defn).flags == []  # missing, not failed


def test_checks_can_be_disabled_or_made_non_invalidating_per_call():
    assert score([2, 2, 2, 2, 2], checks={"straightlining": False}).flags == []
    soft = score([2, 2, 2, 2, 2], checks={"straightlining": {"invalidates": False}})
    assert (soft.flags, soft.valid) == (["straightlining"], True)


def test_checks_thresholds_per_call_and_per_definition():
    times = [1.5] * 5
    assert score([1, 2, 0, 3, 0], times).flags == []
    assert score([1, 2, 0, 3, 0], times, checks={"too_fast": {"min_median_seconds": 2}}).flags == [
        "too_fast"
    ]
    defn = make(validity={"checks": {"too_fast": {"min_median_seconds": 2}}})
    assert score([1, 2, 0, 3, 0], times, defn=defn).flags == ["too_fast"]


def test_unknown_check_is_refused():
    with pytest.raises(ValueError, match="invalid checks"):
        score([1, 2, 0, 3, 0], checks={"no_such_check": True})


# --- norms -----------------------------------------------------------------------------------


NORMED = make(norms={"total": {"F": {"8": {3: 45, 4: 48, 5: 52}}}})


def test_norm_score_added_when_sex_and_grade_have_a_table():
    assert score([1, 1, 1, 3, 0], defn=NORMED, sex="F", grade=8).scores == {
        "total": 3.0,
        "total_t": 45.0,
    }


def test_norm_score_null_when_raw_not_in_table():
    assert score([3, 3, 3, 0, 0], defn=NORMED, sex="F", grade=8).scores == {
        "total": 12.0,
        "total_t": None,
    }


def test_no_norm_score_without_table_or_demographics():
    assert score([1, 1, 1, 3, 0], defn=NORMED, sex="M", grade=8).scores == {"total": 3.0}
    assert score([1, 1, 1, 3, 0], defn=NORMED).scores == {"total": 3.0}


def test_norms_per_row_in_matrix():
    answers = np.array([[1, 1, 1, 3, 0], [1, 1, 2, 3, 0]], dtype=float)
    result = score_matrix(NORMED, answers, sex=["F", "M"], grade=[8, 8])
    assert result.row(0).scores == {"total": 3.0, "total_t": 45.0}
    assert result.row(1).scores == {"total": 4.0}


# --- bad input -------------------------------------------------------------------------------


def test_wrong_number_of_answers():
    with pytest.raises(AnswerError, match="TEST has 5 items, but 4 answers were given"):
        score([1, 2, 3, 0])


def test_code_outside_options():
    with pytest.raises(
        AnswerError, match=r"item 3: 4 is not one of the option codes \(0, 1, 2, 3\)"
    ):
        score([1, 2, 4, 0, 0])


def test_fractional_code_refused():
    with pytest.raises(AnswerError, match=r"item 1: 1\.5 is not one"):
        score([1.5, 2, 3, 0, 0])


def test_non_numeric_refused():
    with pytest.raises(AnswerError, match="is not a number"):
        score(["1", 2, 3, 0, 0])
    with pytest.raises(AnswerError, match="is not a number"):
        score([True, 2, 3, 0, 0])


def test_sparse_option_codes():
    defn = make(option_sets={"freq4": [{"code": c, "label": L} for c in (0, 2, 4)]}, bands={})
    assert score([0, 2, 4, 4, 0], defn=defn).scores == {"total": 6.0}  # item 4 reversed: 4 -> 0
    with pytest.raises(AnswerError, match="item 2: 1 is not one of the option codes"):
        score([0, 1, 4, 4, 0], defn=defn)


def test_matrix_reports_row_of_bad_code():
    answers = np.array([[0, 0, 0, 0, 0], [0, 0, 9, 0, 0]], dtype=float)
    with pytest.raises(AnswerError, match="row 2, item 3"):
        score_matrix(DEF, answers)


# --- one implementation ----------------------------------------------------------------------


def test_matrix_rows_equal_single_responses():
    rng = np.random.default_rng(3)
    answers = rng.integers(0, 4, size=(200, 5)).astype(float)
    answers[rng.random(answers.shape) < 0.15] = np.nan
    times = rng.lognormal(0.3, 0.8, size=answers.shape)
    matrix = score_matrix(DERIVED, answers, times, cohort_median_seconds=8)
    for i in range(len(answers)):
        row = [None if np.isnan(v) else int(v) for v in answers[i]]
        assert matrix.row(i) == score_response(
            DERIVED, row, list(times[i]), cohort_median_seconds=8
        )


def test_band_labels_for_reports():
    answers = np.array([[0, 0, 0, 3, 0], [3, 3, 3, 0, 3], [None, None, 0, 0, 0]], dtype=float)
    assert list(score_matrix(DEF, answers).band_labels("total")) == ["low", "high", None]


def test_freq4_helper_is_four_codes():
    assert [o["code"] for o in freq4()] == [0, 1, 2, 3]


def test_engine_imports_without_django():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['django'] = None; "
        "import xinqiao.instruments.engine as e; print(len(e.load_library()) > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert (out.returncode, out.stdout.strip()) == (0, "True"), out.stderr
