"""PHQ-9 and PHQ-A: hand-computed cases from the published scoring rules.

PHQ-9 total 0-27 with bands [0,5) minimal, [5,10) mild, [10,15) moderate, [15,20) moderately severe,
[20,inf) severe (Kroenke et al. 2001); PHQ-2 = items 1-2, positive at >= 3 (Kroenke et al. 2003).
Missing data: up to 2 items prorated (sum x 9 / answered), item 9 never imputed.
"""

import pytest

from xinqiao.instruments.engine import load_library, score_response

N = None


@pytest.fixture(scope="module")
def phq9():
    return load_library()["PHQ-9"]


@pytest.fixture(scope="module")
def phqa():
    return load_library()["PHQ-A"]


# --- PHQ-9 (items 1-9 scored, item 10 = functional difficulty, not scored) ---------------------


def test_phq9_items_and_texts_as_published(phq9):
    assert [item.id for item in phq9.items] == [str(i) for i in range(1, 11)]
    assert phq9.items[0].text["en"] == "Little interest or pleasure in doing things"
    assert phq9.items[8].text["en"] == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert phq9.items[8].text["zh-Hans"] == "有不如死掉或用某种方式伤害自己的念头"
    assert [label["en"] for _, label in phq9.option_sets["freq4"]] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert [label["zh-Hans"] for _, label in phq9.option_sets["freq4"]] == [
        "完全不会",
        "好几天",
        "一半以上的天数",
        "几乎每天",
    ]
    assert "No permission required to reproduce" in phq9.licence["notice"]["en"]


def test_phq9_all_lowest(phq9):
    result = score_response(phq9, [0] * 9 + [N])
    assert result.scores == {"total": 0, "phq2": 0}
    assert result.bands == {"total": "minimal", "phq2": "negative"}
    assert result.critical == []
    assert result.missing == []
    assert result.valid is True


def test_phq9_all_highest(phq9):
    result = score_response(phq9, [3] * 9 + [3])
    assert result.scores == {"total": 27, "phq2": 6}
    assert result.bands == {"total": "severe", "phq2": "positive"}
    assert result.critical == ["9"]
    assert result.missing == []


def test_phq9_functional_item_is_not_scored(phq9):
    without = score_response(phq9, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    with_max = score_response(phq9, [1, 1, 0, 0, 0, 0, 0, 0, 0, 3])
    assert without.scores == with_max.scores == {"total": 2, "phq2": 2}


def test_phq9_functional_item_not_applicable_when_no_problem_checked(phq9):
    # "If you checked off any problems ...": with every problem at 0 it is not asked, not missing
    assert score_response(phq9, [0] * 9 + [N]).missing == []
    assert score_response(phq9, [0] * 9 + [2]).missing == []


def test_phq9_functional_item_missing_when_a_problem_was_checked(phq9):
    result = score_response(phq9, [0, 0, 1, 0, 0, 0, 0, 0, 0, N])
    assert result.missing == ["10"]
    assert result.scores["total"] == 1


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([3, 1, 0, 0, 0, 0, 0, 0, 0], 4, "minimal"),
        ([3, 2, 0, 0, 0, 0, 0, 0, 0], 5, "mild"),
        ([3, 3, 3, 0, 0, 0, 0, 0, 0], 9, "mild"),
        ([3, 3, 3, 1, 0, 0, 0, 0, 0], 10, "moderate"),
        ([3, 3, 3, 3, 2, 0, 0, 0, 0], 14, "moderate"),
        ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately_severe"),
        ([3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "moderately_severe"),
        ([3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe"),
    ],
)
def test_phq9_band_edges_are_half_open(phq9, answers, total, band):
    result = score_response(phq9, [*answers, 1])
    assert result.scores["total"] == total
    assert result.bands["total"] == band


@pytest.mark.parametrize(
    ("item1", "item2", "phq2", "band"),
    [(0, 0, 0, "negative"), (1, 1, 2, "negative"), (2, 1, 3, "positive"), (0, 3, 3, "positive")],
)
def test_phq2_cut_point_three(phq9, item1, item2, phq2, band):
    result = score_response(phq9, [item1, item2, 0, 0, 0, 0, 0, 0, 0, 0])
    assert result.scores["phq2"] == phq2
    assert result.bands["phq2"] == band


def test_phq9_one_missing_item_is_prorated(phq9):
    # items 1-4, 6-9 answered 1 (sum 8 over 8 items); item 5 missing -> 8 x 9 / 8 = 9
    result = score_response(phq9, [1, 1, 1, 1, N, 1, 1, 1, 1, 1])
    assert result.scores["total"] == 9
    assert result.bands["total"] == "mild"
    assert result.missing == ["5"]
    assert result.critical == ["9"]


def test_phq9_two_missing_items_are_prorated(phq9):
    # answered 3+3+2+2+2+2+0 = 14 over 7 items; 14 x 9 / 7 = 18
    result = score_response(phq9, [3, 3, 2, 2, 2, 2, N, N, 0, 1])
    assert result.scores["total"] == 18
    assert result.bands["total"] == "moderately_severe"
    assert result.missing == ["7", "8"]


def test_phq9_prorated_total_can_be_fractional(phq9):
    # 2+2+2+2+1+1+0 = 10 over 7 items -> 90/7 = 12.857...
    result = score_response(phq9, [2, 2, 2, 2, 1, 1, N, N, 0, 1])
    assert result.scores["total"] == pytest.approx(90 / 7)
    assert result.bands["total"] == "moderate"


def test_phq9_three_missing_items_give_no_total(phq9):
    result = score_response(phq9, [3, 3, 3, N, N, N, 3, 3, 0, 1])
    assert result.scores["total"] is None
    assert result.bands["total"] is None
    assert result.scores["phq2"] == 6  # items 1-2 are complete
    assert result.missing == ["4", "5", "6"]


def test_phq9_item9_is_never_imputed(phq9):
    result = score_response(phq9, [1, 1, 1, 1, 1, 1, 1, 1, N, 1])
    assert result.scores["total"] is None
    assert result.bands["total"] is None
    assert result.missing == ["9"]
    assert result.critical == []


def test_phq2_needs_both_items(phq9):
    result = score_response(phq9, [N, 2, 1, 1, 1, 1, 1, 1, 0, 1])
    assert result.scores["phq2"] is None
    assert result.bands["phq2"] is None
    assert result.scores["total"] == 9  # 8 answered, sum 8 -> 8 x 9 / 8


def test_phq9_critical_item_positive_with_minimal_total(phq9):
    result = score_response(phq9, [0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    assert result.scores["total"] == 1
    assert result.bands["total"] == "minimal"
    assert result.critical == ["9"]


# --- PHQ-A: items 1-9 scored; 10 past-year (yes/no), 11 difficulty, 12-13 suicide (critical) ---


def test_phqa_adolescent_wording_and_order(phqa):
    assert [item.id for item in phqa.items] == [str(i) for i in range(1, 14)]
    assert phqa.items[0].text["en"] == "Feeling down, depressed, irritable, or hopeless?"
    assert phqa.items[1].text["en"] == "Little interest or pleasure in doing things?"
    assert phqa.items[3].text["en"] == "Poor appetite, weight loss, or overeating?"
    assert phqa.items[6].text["en"] == (
        "Trouble concentrating on things like school work, reading, or watching TV?"
    )
    assert phqa.items[11].text["en"] == (
        "Has there been a time in the past month when you have had serious thoughts "
        "about ending your life?"
    )
    assert phqa.items[12].text["en"] == (
        "Have you EVER, in your WHOLE LIFE, tried to kill yourself or made a suicide attempt?"
    )


def test_phqa_all_lowest(phqa):
    result = score_response(phqa, [0] * 9 + [0, N, 0, 0])
    assert result.scores == {"total": 0, "phq2": 0}
    assert result.bands == {"total": "minimal", "phq2": "negative"}
    assert result.critical == []
    assert result.missing == []


def test_phqa_all_highest(phqa):
    result = score_response(phqa, [3] * 9 + [1, 3, 1, 1])
    assert result.scores == {"total": 27, "phq2": 6}
    assert result.bands == {"total": "severe", "phq2": "positive"}
    assert result.critical == ["9", "12", "13"]


def test_phqa_extra_questions_are_outside_the_total(phqa):
    result = score_response(phqa, [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 1])
    assert result.scores["total"] == 1
    assert result.bands["total"] == "minimal"


def test_phqa_suicide_question_critical_with_zero_total(phqa):
    result = score_response(phqa, [0] * 9 + [0, N, 1, 0])
    assert result.scores["total"] == 0
    assert result.bands["total"] == "minimal"
    assert result.critical == ["12"]
    assert result.missing == []  # item 11 not applicable: no problem endorsed on items 1-10


def test_phqa_lifetime_attempt_is_critical(phqa):
    result = score_response(phqa, [0] * 9 + [0, N, 0, 1])
    assert result.critical == ["13"]


def test_phqa_past_year_yes_makes_difficulty_question_applicable(phqa):
    result = score_response(phqa, [0] * 9 + [1, N, 0, 0])
    assert result.missing == ["11"]


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([2, 2, 0, 0, 0, 0, 0, 0, 0], 4, "minimal"),
        ([2, 2, 1, 0, 0, 0, 0, 0, 0], 5, "mild"),
        ([3, 3, 3, 0, 0, 0, 0, 0, 0], 9, "mild"),
        ([3, 3, 3, 1, 0, 0, 0, 0, 0], 10, "moderate"),
        ([3, 3, 3, 3, 2, 0, 0, 0, 0], 14, "moderate"),
        ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately_severe"),
        ([3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "moderately_severe"),
        ([3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe"),
    ],
)
def test_phqa_band_edges(phqa, answers, total, band):
    result = score_response(phqa, [*answers, 0, 1, 0, 0])
    assert result.scores["total"] == total
    assert result.bands["total"] == band


def test_phqa_missing_within_and_beyond_limit(phqa):
    two = score_response(phqa, [3, 3, 2, 2, 2, 2, N, N, 0, 0, 1, 0, 0])
    assert two.scores["total"] == 18  # 14 x 9 / 7
    three = score_response(phqa, [3, 3, 2, 2, 2, N, N, N, 0, 0, 1, 0, 0])
    assert three.scores["total"] is None
    assert three.missing == ["6", "7", "8"]


def test_phqa_item9_never_imputed_and_unanswered_suicide_questions_are_missing(phqa):
    result = score_response(phqa, [1, 1, 1, 1, 1, 1, 1, 1, N, 0, 1, N, N])
    assert result.scores["total"] is None
    assert result.missing == ["9", "12", "13"]
    assert result.critical == []
