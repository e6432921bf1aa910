"""The shipped library as a whole: what is shipped, licences, sources, critical items."""

import pytest

from xinqiao.instruments.engine import load_library

SHIPPED_WITH_TEXT = {"PHQ-9", "PHQ-A", "GAD-7", "ASQ", "PSC-17", "Y-PSC-17", "WHO-5"}
SCORING_ONLY = {"SCARED", "CES-DC", "DSRSC", "MHT", "MSSMHS", "RCADS-25"}
NOT_SHIPPED = {"SDQ", "SCL-90", "UPI", "C-SSRS"}
ITEM_COUNTS = {
    "PHQ-9": 10,
    "PHQ-A": 13,
    "GAD-7": 7,
    "ASQ": 5,
    "PSC-17": 17,
    "Y-PSC-17": 17,
    "WHO-5": 5,
    "SCARED": 41,
    "CES-DC": 20,
    "DSRSC": 18,
    "MHT": 100,
    "MSSMHS": 60,
    "RCADS-25": 25,
}
CRITICAL = {
    "PHQ-9": {"9"},
    "PHQ-A": {"9", "12", "13"},
    "ASQ": {"1", "2", "3", "4", "5"},
}


@pytest.fixture(scope="module")
def lib():
    return load_library()


def test_library_contains_exactly_the_catalogue(lib):
    assert set(lib) == SHIPPED_WITH_TEXT | SCORING_ONLY
    assert not NOT_SHIPPED & set(lib)


@pytest.mark.parametrize("code", sorted(ITEM_COUNTS))
def test_library_item_counts(lib, code):
    assert len(lib[code].items) == ITEM_COUNTS[code]


@pytest.mark.parametrize("code", sorted(SHIPPED_WITH_TEXT))
def test_library_shipped_texts_in_both_languages(lib, code):
    defn = lib[code]
    assert defn.text_shipped is True
    assert {"zh-Hans", "en"} <= set(defn.document["instructions"])
    for item in defn.items:
        assert item.text["zh-Hans"].strip()
        assert item.text["en"].strip()
    for options in defn.option_sets.values():
        for _, label in options:
            assert {"zh-Hans", "en"} <= set(label)


@pytest.mark.parametrize("code", sorted(SCORING_ONLY))
def test_library_scoring_only_ships_no_text_and_no_norms(lib, code):
    defn = lib[code]
    assert defn.text_shipped is False
    assert defn.licence["status"] == "licensed_scoring_only"
    assert defn.document["instructions"] is None
    assert all(item.text is None for item in defn.items)


@pytest.mark.parametrize("code", sorted(ITEM_COUNTS))
def test_library_licence_notice_and_sources(lib, code):
    defn = lib[code]
    assert defn.licence["holder"]
    assert defn.licence["source"]
    assert defn.licence["notice"]["zh-Hans"].strip()
    assert defn.licence["notice"]["en"].strip()
    assert len(defn.document["references"]) >= 1
    assert not defn.norms


@pytest.mark.parametrize("code", sorted(ITEM_COUNTS))
def test_library_every_band_names_population_and_source(lib, code):
    for bands in lib[code].bands.values():
        for band in bands:
            assert band.population
            assert band.source


@pytest.mark.parametrize("code", sorted(ITEM_COUNTS))
def test_library_critical_items(lib, code):
    critical = {item.id for item in lib[code].items if item.critical_min is not None}
    assert critical == CRITICAL.get(code, set())
