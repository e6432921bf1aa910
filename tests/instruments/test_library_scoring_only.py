"""Scoring-only definitions (no item text shipped): SCARED, CES-DC, DSRSC, MHT, MSSMHS, RCADS-25.

Item keys below are typed again from the published scoring keys, independently of the YAML files,
and every expected score is computed by hand.
"""

import pytest

from xinqiao.instruments.engine import load_library, score_response

N = None


@pytest.fixture(scope="module")
def lib():
    return load_library()


def keys(defn):
    return {s.name: [int(i) for i in s.items] for s in defn.all_scores if s.items}


def with_values(n: int, values: dict[int, int | None], default: int | None) -> list[int | None]:
    return [values.get(i, default) for i in range(1, n + 1)]


# --- SCARED: 0-2, total >= 25 (Birmaher 1999) -----------------------------------------------------

SCARED_KEYS = {
    "panic_somatic": [1, 6, 9, 12, 15, 18, 19, 22, 24, 27, 30, 34, 38],
    "generalized_anxiety": [5, 7, 14, 21, 23, 28, 33, 35, 37],
    "separation_anxiety": [4, 8, 13, 16, 20, 25, 29, 31],
    "social_anxiety": [3, 10, 26, 32, 39, 40, 41],
    "school_avoidance": [2, 11, 17, 36],
    "total": list(range(1, 42)),
}


def test_scared_keys(lib):
    assert keys(lib["SCARED"]) == SCARED_KEYS


def test_scared_all_lowest_and_highest(lib):
    low = score_response(lib["SCARED"], [0] * 41)
    assert set(low.scores.values()) == {0}
    assert set(low.bands.values()) == {"below_cutoff"}
    high = score_response(lib["SCARED"], [2] * 41)
    assert high.scores == {
        "panic_somatic": 26,
        "generalized_anxiety": 18,
        "separation_anxiety": 16,
        "social_anxiety": 14,
        "school_avoidance": 8,
        "total": 82,
    }
    assert set(high.bands.values()) == {"above_cutoff"}


@pytest.mark.parametrize(
    ("values", "name", "score", "band"),
    [
        ({2: 2}, "school_avoidance", 2, "below_cutoff"),
        ({2: 2, 11: 1}, "school_avoidance", 3, "above_cutoff"),
        ({4: 2, 8: 2}, "separation_anxiety", 4, "below_cutoff"),
        ({4: 2, 8: 2, 13: 1}, "separation_anxiety", 5, "above_cutoff"),
        ({1: 2, 6: 2, 9: 2}, "panic_somatic", 6, "below_cutoff"),
        ({1: 2, 6: 2, 9: 2, 12: 1}, "panic_somatic", 7, "above_cutoff"),
        ({5: 2, 7: 2, 14: 2, 21: 2}, "generalized_anxiety", 8, "below_cutoff"),
        ({5: 2, 7: 2, 14: 2, 21: 2, 23: 1}, "generalized_anxiety", 9, "above_cutoff"),
        ({3: 2, 10: 2, 26: 2, 32: 1}, "social_anxiety", 7, "below_cutoff"),
        ({3: 2, 10: 2, 26: 2, 32: 2}, "social_anxiety", 8, "above_cutoff"),
    ],
)
def test_scared_subscale_cut_offs(lib, values, name, score, band):
    result = score_response(lib["SCARED"], with_values(41, values, 0))
    assert result.scores[name] == score
    assert result.bands[name] == band


def test_scared_total_edge(lib):
    twelve_panic_items = {i: 2 for i in [1, 6, 9, 12, 15, 18, 19, 22, 24, 27, 30, 34]}
    below = score_response(lib["SCARED"], with_values(41, twelve_panic_items, 0))
    assert below.scores["total"] == 24
    assert below.bands["total"] == "below_cutoff"
    at = score_response(lib["SCARED"], with_values(41, {**twelve_panic_items, 5: 1}, 0))
    assert at.scores["total"] == 25
    assert at.bands["total"] == "above_cutoff"


def test_scared_missing_item_nulls_its_scores(lib):
    result = score_response(lib["SCARED"], with_values(41, {2: N}, 1))
    assert result.scores["school_avoidance"] is None
    assert result.scores["total"] is None
    assert result.scores["social_anxiety"] == 7


# --- CES-DC: 0-3, items 4, 8, 12, 16 reversed, > 15 (i.e. >= 16), > 4 missing not scored ----------

CESDC_REVERSED = {4, 8, 12, 16}


def test_cesdc_reverse_items(lib):
    assert {int(item.id) for item in lib["CES-DC"].items if item.reverse} == CESDC_REVERSED


def test_cesdc_all_same_answer(lib):
    # all "not at all": 16 forward items 0 + 4 reversed items (3 - 0) = 12
    low = score_response(lib["CES-DC"], [0] * 20)
    assert low.scores["total"] == 12
    assert low.bands["total"] == "below_cutoff"
    assert "straightlining" in low.flags
    # all "a lot": 16 x 3 + 4 x (3 - 3) = 48
    high = score_response(lib["CES-DC"], [3] * 20)
    assert high.scores["total"] == 48
    assert high.bands["total"] == "above_cutoff"


def test_cesdc_lowest_and_highest_possible(lib):
    lowest = with_values(20, dict.fromkeys(CESDC_REVERSED, 3), 0)
    assert score_response(lib["CES-DC"], lowest).scores["total"] == 0
    highest = with_values(20, dict.fromkeys(CESDC_REVERSED, 0), 3)
    assert score_response(lib["CES-DC"], highest).scores["total"] == 60


def test_cesdc_cut_off_edge(lib):
    healthy_reversed = dict.fromkeys(CESDC_REVERSED, 3)  # keyed value 0
    fifteen = {**healthy_reversed, 1: 3, 2: 3, 3: 3, 5: 3, 6: 3}
    below = score_response(lib["CES-DC"], with_values(20, fifteen, 0))
    assert below.scores["total"] == 15
    assert below.bands["total"] == "below_cutoff"
    at = score_response(lib["CES-DC"], with_values(20, {**fifteen, 7: 1}, 0))
    assert at.scores["total"] == 16
    assert at.bands["total"] == "above_cutoff"


def test_cesdc_four_missing_prorated_five_missing_not_scored(lib):
    # reversed items answered 3 (value 0); items 1, 2, 3, 5 missing; the other 12 forward items 1
    # -> 12 over 16 answered items -> 12 x 20 / 16 = 15
    four = with_values(20, {**dict.fromkeys(CESDC_REVERSED, 3), 1: N, 2: N, 3: N, 5: N}, 1)
    result = score_response(lib["CES-DC"], four)
    assert result.scores["total"] == 15
    assert result.missing == ["1", "2", "3", "5"]
    five = with_values(20, {**dict.fromkeys(CESDC_REVERSED, 3), 1: N, 2: N, 3: N, 5: N, 6: N}, 1)
    assert score_response(lib["CES-DC"], five).scores["total"] is None


# --- DSRSC: 0 never / 1 sometimes / 2 most of the time; 10 reversed items; >= 15 ------------------

DSRSC_REVERSED = {1, 2, 4, 7, 8, 9, 11, 12, 13, 16}


def test_dsrsc_reverse_items(lib):
    assert {int(item.id) for item in lib["DSRSC"].items if item.reverse} == DSRSC_REVERSED


def test_dsrsc_all_same_answer(lib):
    never = score_response(lib["DSRSC"], [0] * 18)
    assert never.scores["total"] == 20  # 10 reversed items x 2
    assert never.bands["total"] == "above_cutoff"
    assert "straightlining" in never.flags
    mostly = score_response(lib["DSRSC"], [2] * 18)
    assert mostly.scores["total"] == 16  # 8 forward items x 2


def test_dsrsc_lowest_and_highest_possible(lib):
    lowest = with_values(18, dict.fromkeys(DSRSC_REVERSED, 2), 0)
    assert score_response(lib["DSRSC"], lowest).scores["total"] == 0
    highest = with_values(18, dict.fromkeys(DSRSC_REVERSED, 0), 2)
    assert score_response(lib["DSRSC"], highest).scores["total"] == 36


def test_dsrsc_reversed_item_scores_two_for_never(lib):
    # "I look forward to things as much as I used to": never -> 2
    answers = with_values(18, {**dict.fromkeys(DSRSC_REVERSED, 2), 1: 0}, 0)
    assert score_response(lib["DSRSC"], answers).scores["total"] == 2


def test_dsrsc_cut_off_edge(lib):
    base = {**dict.fromkeys(DSRSC_REVERSED, 2), 3: 2, 5: 2, 6: 2, 10: 2, 14: 2, 15: 2, 17: 2}
    below = score_response(lib["DSRSC"], with_values(18, base, 0))
    assert below.scores["total"] == 14
    assert below.bands["total"] == "below_cutoff"
    at = score_response(lib["DSRSC"], with_values(18, {**base, 18: 1}, 0))
    assert at.scores["total"] == 15
    assert at.bands["total"] == "above_cutoff"


def test_dsrsc_missing_item_gives_no_total(lib):
    assert score_response(lib["DSRSC"], with_values(18, {10: N}, 1)).scores["total"] is None


# --- MHT: yes = 1, 8 content scales, lie scale 82, 84, ..., 100 (>= 7 invalid) --------------------

MHT_KEYS = {
    "learning_anxiety": list(range(1, 16)),
    "interpersonal_anxiety": list(range(16, 26)),
    "loneliness": list(range(26, 36)),
    "self_blame": list(range(36, 46)),
    "sensitivity": list(range(46, 56)),
    "somatic_symptoms": list(range(56, 71)),
    "phobic_tendency": list(range(71, 81)),
    "impulsive_tendency": [81, 83, 85, 87, 89, 91, 93, 95, 97, 99],
    "lie": [82, 84, 86, 88, 90, 92, 94, 96, 98, 100],
}


def test_mht_keys(lib):
    found = keys(lib["MHT"])
    total = found.pop("total")
    assert found == MHT_KEYS
    assert total == sorted(i for name, items in MHT_KEYS.items() if name != "lie" for i in items)
    assert len(total) == 90


def test_mht_all_no(lib):
    result = score_response(lib["MHT"], [0] * 100)
    assert set(result.scores.values()) == {0}
    assert set(result.bands.values()) == {"not_high"}
    assert result.flags == []
    assert result.valid is True


def test_mht_all_yes_is_high_and_invalid_by_lie_scale(lib):
    result = score_response(lib["MHT"], [1] * 100)
    assert result.scores["learning_anxiety"] == 15
    assert result.scores["somatic_symptoms"] == 15
    assert result.scores["impulsive_tendency"] == 10
    assert result.scores["total"] == 90
    assert result.scores["lie"] == 10
    assert set(result.bands.values()) == {"high"}
    assert "lie_scale" in result.flags
    assert result.valid is False


@pytest.mark.parametrize(("n_lie_yes", "valid"), [(6, True), (7, False)])
def test_mht_lie_scale_threshold(lib, n_lie_yes, valid):
    lie_yes = dict.fromkeys([82, 84, 86, 88, 90, 92, 94, 96, 98, 100][:n_lie_yes], 1)
    result = score_response(lib["MHT"], with_values(100, lie_yes, 0))
    assert result.scores["lie"] == n_lie_yes
    assert result.scores["total"] == 0  # lie items are not content items
    assert ("lie_scale" in result.flags) is (not valid)
    assert result.valid is valid


def test_mht_content_scale_edge(lib):
    seven = score_response(lib["MHT"], with_values(100, dict.fromkeys(range(1, 8), 1), 0))
    assert seven.scores["learning_anxiety"] == 7
    assert seven.bands["learning_anxiety"] == "not_high"
    eight = score_response(lib["MHT"], with_values(100, dict.fromkeys(range(1, 9), 1), 0))
    assert eight.scores["learning_anxiety"] == 8
    assert eight.bands["learning_anxiety"] == "high"


def test_mht_total_edge(lib):
    # items 1-70 are six whole content scales (15+10+10+10+10+15 = 70 items)
    sixty_four = dict.fromkeys(range(7, 71), 1)
    below = score_response(lib["MHT"], with_values(100, sixty_four, 0))
    assert below.scores["total"] == 64
    assert below.bands["total"] == "not_high"
    at = score_response(lib["MHT"], with_values(100, {**sixty_four, 6: 1}, 0))
    assert at.scores["total"] == 65
    assert at.bands["total"] == "high"


def test_mht_missing_item_nulls_its_scale_and_total_only(lib):
    result = score_response(lib["MHT"], with_values(100, {1: N}, 0))
    assert result.scores["learning_anxiety"] is None
    assert result.scores["total"] is None
    assert result.scores["interpersonal_anxiety"] == 0
    assert result.scores["lie"] == 0


# --- MSSMHS: 1-5, 10 factors x 6 items, means; 2 / 3 / 4 / 5 thresholds ---------------------------

MSSMHS_KEYS = {
    "obsessive_compulsive": [3, 10, 12, 22, 23, 48],
    "paranoid": [11, 20, 24, 26, 47, 49],
    "hostility": [19, 21, 25, 50, 52, 58],
    "interpersonal_sensitivity": [4, 17, 18, 45, 51, 59],
    "depression": [5, 13, 14, 16, 44, 57],
    "anxiety": [6, 15, 34, 43, 46, 56],
    "learning_pressure": [31, 33, 36, 38, 40, 55],
    "maladjustment": [1, 8, 9, 29, 39, 41],
    "emotional_imbalance": [2, 7, 27, 32, 35, 53],
    "psychological_imbalance": [28, 30, 37, 42, 54, 60],
    "total_mean": list(range(1, 61)),
}


def test_mssmhs_keys(lib):
    assert keys(lib["MSSMHS"]) == MSSMHS_KEYS
    assert all(s.method == "mean" for s in lib["MSSMHS"].scores)


def test_mssmhs_all_lowest_and_highest(lib):
    low = score_response(lib["MSSMHS"], [1] * 60)
    assert set(low.scores.values()) == {1}
    assert set(low.bands.values()) == {"none"}
    high = score_response(lib["MSSMHS"], [5] * 60)
    assert set(high.scores.values()) == {5}
    assert set(high.bands.values()) == {"severe"}


@pytest.mark.parametrize(
    ("values", "mean", "band"),
    [
        ([2, 2, 2, 2, 2, 1], 11 / 6, "none"),
        ([2, 2, 2, 2, 2, 2], 2, "mild"),
        ([3, 3, 3, 3, 3, 2], 17 / 6, "mild"),
        ([3, 3, 3, 3, 3, 3], 3, "moderate"),
        ([4, 4, 4, 4, 4, 4], 4, "fairly_severe"),
        ([5, 5, 5, 5, 5, 4], 29 / 6, "fairly_severe"),
    ],
)
def test_mssmhs_factor_mean_edges(lib, values, mean, band):
    answers = with_values(60, dict(zip(MSSMHS_KEYS["depression"], values, strict=True)), 1)
    result = score_response(lib["MSSMHS"], answers)
    assert result.scores["depression"] == pytest.approx(mean)
    assert result.bands["depression"] == band
    assert result.scores["total_mean"] == pytest.approx((sum(values) + 54) / 60)


def test_mssmhs_missing_item(lib):
    result = score_response(lib["MSSMHS"], with_values(60, {5: N}, 2))
    assert result.scores["depression"] is None
    assert result.scores["total_mean"] is None
    assert result.scores["anxiety"] == 2


# --- RCADS-25: 0-3; depression 10 items, anxiety 15; no bands (T-scores need norms) ---------------

RCADS_DEPRESSION = [1, 4, 8, 10, 13, 15, 16, 19, 21, 24]


def test_rcads25_keys(lib):
    found = keys(lib["RCADS-25"])
    assert found["depression"] == RCADS_DEPRESSION
    assert found["anxiety"] == [2, 3, 5, 6, 7, 9, 11, 12, 14, 17, 18, 20, 22, 23, 25]
    assert found["total"] == list(range(1, 26))
    assert lib["RCADS-25"].bands == {}


def test_rcads25_lowest_highest_and_split(lib):
    assert score_response(lib["RCADS-25"], [0] * 25).scores == {
        "anxiety": 0,
        "depression": 0,
        "total": 0,
    }
    high = score_response(lib["RCADS-25"], [3] * 25)
    assert high.scores == {"anxiety": 45, "depression": 30, "total": 75}
    assert high.bands == {}
    depression_only = score_response(
        lib["RCADS-25"], with_values(25, dict.fromkeys(RCADS_DEPRESSION, 2), 0)
    )
    assert depression_only.scores == {"anxiety": 0, "depression": 20, "total": 20}
