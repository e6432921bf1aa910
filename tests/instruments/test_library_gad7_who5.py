"""GAD-7 (Spitzer et al. 2006; GAD-2 Kroenke et al. 2007) and WHO-5 (raw 0-25, percentage =
raw x 4): hand-computed cases from the published scoring rules."""

import pytest

from xinqiao.instruments.engine import load_library, score_response

N = None


@pytest.fixture(scope="module")
def gad7():
    return load_library()["GAD-7"]


@pytest.fixture(scope="module")
def who5():
    return load_library()["WHO-5"]


# --- GAD-7 -----------------------------------------------------------------------------------


def test_gad7_texts_as_published(gad7):
    assert [item.text["en"] for item in gad7.items] == [
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it's hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ]
    assert gad7.items[0].text["zh-Hans"] == "感觉紧张、焦虑或急切"


def test_gad7_all_lowest(gad7):
    result = score_response(gad7, [0] * 7)
    assert result.scores == {"total": 0, "gad2": 0}
    assert result.bands == {"total": "minimal", "gad2": "negative"}
    assert result.critical == []
    assert result.valid is True


def test_gad7_all_highest(gad7):
    result = score_response(gad7, [3] * 7)
    assert result.scores == {"total": 21, "gad2": 6}
    assert result.bands == {"total": "severe", "gad2": "positive"}


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([3, 1, 0, 0, 0, 0, 0], 4, "minimal"),
        ([3, 2, 0, 0, 0, 0, 0], 5, "mild"),
        ([3, 3, 3, 0, 0, 0, 0], 9, "mild"),
        ([3, 3, 3, 1, 0, 0, 0], 10, "moderate"),
        ([3, 3, 3, 3, 2, 0, 0], 14, "moderate"),
        ([3, 3, 3, 3, 3, 0, 0], 15, "severe"),
    ],
)
def test_gad7_band_edges(gad7, answers, total, band):
    result = score_response(gad7, answers)
    assert result.scores["total"] == total
    assert result.bands["total"] == band


@pytest.mark.parametrize(("item1", "item2", "band"), [(1, 1, "negative"), (1, 2, "positive")])
def test_gad2_cut_point_three(gad7, item1, item2, band):
    assert score_response(gad7, [item1, item2, 0, 0, 0, 0, 0]).bands["gad2"] == band


def test_gad7_missing_item_gives_no_total(gad7):
    # no verified published prorating rule: any missing item -> null total
    result = score_response(gad7, [2, 2, 2, N, 2, 2, 2])
    assert result.scores["total"] is None
    assert result.bands["total"] is None
    assert result.scores["gad2"] == 4
    assert result.missing == ["4"]


# --- WHO-5 (higher = better) -------------------------------------------------------------------


def test_who5_texts_and_options_as_published(who5):
    assert [item.text["zh-Hans"] for item in who5.items] == [
        "我感觉快乐、心情舒畅",
        "我感觉宁静和放松",
        "我感觉充满活力、精力充沛",
        "我睡醒时感到清新、得到了足够休息",
        "我每天生活充满了有趣的事情",
    ]
    assert [(code, label["en"]) for code, label in who5.option_sets["who5"]] == [
        (5, "All of the time"),
        (4, "Most of the time"),
        (3, "More than half of the time"),
        (2, "Less than half of the time"),
        (1, "Some of the time"),
        (0, "At no time"),
    ]


def test_who5_all_lowest(who5):
    result = score_response(who5, [0] * 5)
    assert result.scores == {"raw": 0, "who5_percent": 0}
    assert result.bands == {"raw": "poor_wellbeing", "who5_percent": "likely_depression"}


def test_who5_all_highest(who5):
    result = score_response(who5, [5] * 5)
    assert result.scores == {"raw": 25, "who5_percent": 100}
    assert result.bands == {"raw": "adequate", "who5_percent": "adequate"}
    assert result.valid is True


@pytest.mark.parametrize(
    ("answers", "raw", "percent", "raw_band", "percent_band"),
    [
        ([2, 2, 2, 1, 0], 7, 28, "poor_wellbeing", "likely_depression"),
        ([2, 2, 2, 1, 1], 8, 32, "poor_wellbeing", "poor_wellbeing"),
        ([3, 3, 3, 2, 1], 12, 48, "poor_wellbeing", "poor_wellbeing"),
        ([3, 3, 3, 2, 2], 13, 52, "adequate", "adequate"),
    ],
)
def test_who5_band_edges(who5, answers, raw, percent, raw_band, percent_band):
    result = score_response(who5, answers)
    assert result.scores == {"raw": raw, "who5_percent": percent}
    assert result.bands == {"raw": raw_band, "who5_percent": percent_band}


def test_who5_missing_item_gives_no_score(who5):
    result = score_response(who5, [4, 4, N, 4, 4])
    assert result.scores == {"raw": None, "who5_percent": None}
    assert result.bands == {"raw": None, "who5_percent": None}
    assert result.missing == ["3"]
