"""ASQ (NIMH): four screening questions, acuity question 5 asked only after a "yes".

Next steps as published: no to 1-4 -> negative (question 5 not asked); yes to any of 1-4 and
no to 5 -> non-acute positive; yes to 5 -> acute positive. Every item is critical on "yes".
Item 5's "yes" is coded 5 so that asq_result = sum of items 1-5 separates the three outcomes.
"""

import pytest

from xinqiao.instruments.engine import load_library, score_response

N = None


@pytest.fixture(scope="module")
def asq():
    return load_library()["ASQ"]


def test_asq_questions_as_published(asq):
    assert [item.text["en"] for item in asq.items] == [
        "In the past few weeks, have you wished you were dead?",
        "In the past few weeks, have you felt that you or your family would be better off "
        "if you were dead?",
        "In the past week, have you been having thoughts about killing yourself?",
        "Have you ever tried to kill yourself?",
        "Are you having thoughts of killing yourself right now?",
    ]
    assert asq.licence["status"] == "public_domain"


def test_asq_all_no_acuity_not_applicable(asq):
    result = score_response(asq, [0, 0, 0, 0, N])
    assert result.scores == {"screen_positive_count": 0, "asq_result": 0}
    assert result.bands == {"screen_positive_count": "negative", "asq_result": "negative"}
    assert result.missing == []  # question 5 is not applicable, never missing
    assert result.critical == []
    assert result.valid is True


def test_asq_acuity_answer_ignored_when_not_asked(asq):
    result = score_response(asq, [0, 0, 0, 0, 5])
    assert result.bands["asq_result"] == "negative"
    assert result.critical == []


def test_asq_one_yes_non_acute(asq):
    result = score_response(asq, [1, 0, 0, 0, 0])
    assert result.scores == {"screen_positive_count": 1, "asq_result": 1}
    assert result.bands == {"screen_positive_count": "positive", "asq_result": "non_acute_positive"}
    assert result.critical == ["1"]


def test_asq_all_four_yes_still_non_acute(asq):
    result = score_response(asq, [1, 1, 1, 1, 0])
    assert result.scores == {"screen_positive_count": 4, "asq_result": 4}
    assert result.bands["asq_result"] == "non_acute_positive"
    assert result.critical == ["1", "2", "3", "4"]


def test_asq_acute_positive(asq):
    result = score_response(asq, [0, 0, 0, 1, 5])
    assert result.scores == {"screen_positive_count": 1, "asq_result": 6}
    assert result.bands == {"screen_positive_count": "positive", "asq_result": "acute_positive"}
    assert result.critical == ["4", "5"]


def test_asq_all_yes_acute(asq):
    result = score_response(asq, [1, 1, 1, 1, 5])
    assert result.scores == {"screen_positive_count": 4, "asq_result": 9}
    assert result.bands["asq_result"] == "acute_positive"
    assert result.critical == ["1", "2", "3", "4", "5"]


def test_asq_refused_screening_question_is_missing_never_imputed(asq):
    # a refusal counts as a positive screen in the ASQ guidance; the engine reports it as missing
    # and leaves the scores null so that no "negative" is ever produced from an incomplete screen
    result = score_response(asq, [0, N, 0, 0, N])
    assert result.scores == {"screen_positive_count": None, "asq_result": None}
    assert result.bands == {"screen_positive_count": None, "asq_result": None}
    assert result.missing == ["2"]


def test_asq_refused_acuity_question_after_a_yes(asq):
    result = score_response(asq, [0, 0, 1, 0, N])
    assert result.scores == {"screen_positive_count": 1, "asq_result": None}
    assert result.bands == {"screen_positive_count": "positive", "asq_result": None}
    assert result.missing == ["5"]
    assert result.critical == ["3"]


def test_asq_acuity_yes_must_use_code_5(asq):
    with pytest.raises(ValueError, match="option codes"):
        score_response(asq, [1, 0, 0, 0, 1])
