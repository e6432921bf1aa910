"""PSC-17 (parent) and Y-PSC-17 (youth): Never 0, Sometimes 1, Often 2.

Subscales (Gardner et al. 1999): internalizing items 2, 6, 9, 11, 15 (>= 5); attention 1, 3, 7,
13, 17 (>= 7); externalizing 4, 5, 8, 10, 12, 14, 16 (>= 7); total >= 15. Blank items count 0;
with four or more blank items the questionnaire is invalid (total null).
"""

import pytest

from xinqiao.instruments.engine import load_library, score_response

N = None
INTERNALIZING = [2, 6, 9, 11, 15]
ATTENTION = [1, 3, 7, 13, 17]
EXTERNALIZING = [4, 5, 8, 10, 12, 14, 16]


def answers(values: dict[int, int | None], default: int | None = 0) -> list[int | None]:
    return [values.get(i, default) for i in range(1, 18)]


@pytest.fixture(scope="module", params=["PSC-17", "Y-PSC-17"])
def psc(request):
    return load_library()[request.param]


@pytest.fixture(scope="module")
def parent():
    return load_library()["PSC-17"]


def test_psc17_keys_as_published(psc):
    scores = {s.name: [int(i) for i in s.items] for s in psc.scores}
    assert scores == {
        "internalizing": INTERNALIZING,
        "attention": ATTENTION,
        "externalizing": EXTERNALIZING,
        "total": list(range(1, 18)),
    }


def test_psc17_parent_item_order(parent):
    assert parent.items[0].text["en"] == "Fidgety, unable to sit still"
    assert parent.items[8].text["en"] == "Is down on him or herself"
    assert parent.items[16].text["en"] == "Distracted easily"
    assert parent.respondent == "parent"


def test_psc17_all_lowest(psc):
    result = score_response(psc, [0] * 17)
    assert result.scores == {"internalizing": 0, "attention": 0, "externalizing": 0, "total": 0}
    assert set(result.bands.values()) == {"negative"}


def test_psc17_all_highest(psc):
    result = score_response(psc, [2] * 17)
    assert result.scores == {"internalizing": 10, "attention": 10, "externalizing": 14, "total": 34}
    assert result.bands["total"] == "positive"


def test_psc17_parent_all_highest_positive_on_every_subscale(parent):
    result = score_response(parent, [2] * 17)
    assert result.bands == {
        "internalizing": "positive",
        "attention": "positive",
        "externalizing": "positive",
        "total": "positive",
    }


@pytest.mark.parametrize(
    ("values", "name", "score", "band"),
    [
        ({2: 2, 6: 2}, "internalizing", 4, "negative"),
        ({2: 2, 6: 2, 9: 1}, "internalizing", 5, "positive"),
        ({1: 2, 3: 2, 7: 2}, "attention", 6, "negative"),
        ({1: 2, 3: 2, 7: 2, 13: 1}, "attention", 7, "positive"),
        ({4: 2, 5: 2, 8: 2}, "externalizing", 6, "negative"),
        ({4: 2, 5: 2, 8: 2, 10: 1}, "externalizing", 7, "positive"),
    ],
)
def test_psc17_parent_subscale_cut_offs(parent, values, name, score, band):
    result = score_response(parent, answers(values))
    assert result.scores[name] == score
    assert result.bands[name] == band


def test_psc17_total_edge(psc):
    # internalizing 4 + attention 6 + externalizing 4 = 14, then one more point on item 16
    base = {2: 2, 6: 2, 1: 2, 3: 2, 7: 2, 4: 2, 5: 2}
    below = score_response(psc, answers(base))
    assert below.scores["total"] == 14
    assert below.bands["total"] == "negative"
    at = score_response(psc, answers({**base, 16: 1}))
    assert at.scores["total"] == 15
    assert at.bands["total"] == "positive"


def test_psc17_three_blank_items_count_as_zero(psc):
    result = score_response(psc, answers({2: N, 9: N, 17: N}, default=1))
    assert result.scores == {"internalizing": 3, "attention": 4, "externalizing": 7, "total": 14}
    assert result.missing == ["2", "9", "17"]


def test_psc17_four_blank_items_invalidate_the_total(psc):
    result = score_response(psc, answers({1: N, 2: N, 4: N, 5: N}, default=2))
    assert result.scores["total"] is None
    assert result.bands["total"] is None
    assert result.missing == ["1", "2", "4", "5"]


def test_ypsc17_has_total_band_only():
    ypsc = load_library()["Y-PSC-17"]
    result = score_response(ypsc, [2] * 17)
    assert result.bands == {"total": "positive"}
    assert ypsc.respondent == "self"
