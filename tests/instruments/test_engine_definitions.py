"""Broken definitions are refused with a message naming the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from xinqiao.instruments.definition import (
    UnknownInstrumentError,
    get_definition,
    load_definition,
    load_library,
)
from xinqiao.instruments.schema import DefinitionError

from .test_engine_helpers import L, base_doc


def write(tmp_path: Path, doc: Any, name: str = "test-1.0.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True))
    return path


def refused(tmp_path: Path, doc: Any) -> DefinitionError:
    path = write(tmp_path, doc)
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    assert info.value.file == str(path)
    assert str(info.value).startswith(f"{path}: {info.value.field}: ")
    return info.value


def test_valid_definition_loads(tmp_path):
    defn = load_definition(write(tmp_path, base_doc()))
    assert (defn.code, defn.version, defn.item_ids) == ("TEST", "1.0", ("1", "2", "3", "4", "5"))
    assert defn.document["code"] == "TEST"


def test_invalid_yaml(tmp_path):
    err = refused(tmp_path, "code: [unclosed\n")
    assert (err.field, err.problem.startswith("not valid YAML at line")) == ("$", True)


def test_missing_required_field(tmp_path):
    doc = base_doc()
    del doc["licence"]
    err = refused(tmp_path, doc)
    assert (err.field, err.problem) == ("$", "'licence' is a required property")


def test_unquoted_version_is_refused(tmp_path):
    err = refused(tmp_path, base_doc(version=1.0))
    assert (err.field, err.problem) == ("$.version", "1.0 is not of type 'string'")


def test_misspelt_key_is_refused(tmp_path):
    doc = base_doc()
    doc["items"][3]["reversed"] = True
    err = refused(tmp_path, doc)
    assert err.field == "$.items[3]"
    assert err.problem.startswith("unknown field 'reversed' (allowed: id, text, options, reverse,")


def test_bad_enum(tmp_path):
    doc = base_doc()
    doc["scores"][0]["missing"]["impute"] = "median"
    err = refused(tmp_path, doc)
    assert err.field == "$.scores[0].missing.impute"
    assert "'median' is not one of" in err.problem


def test_duplicate_item_id(tmp_path):
    doc = base_doc()
    doc["items"][2]["id"] = "1"
    err = refused(tmp_path, doc)
    assert (err.field, err.problem) == ("$.items[2].id", "item id '1' is used twice")


def test_unknown_option_set(tmp_path):
    doc = base_doc()
    doc["items"][1]["options"] = "yesno"
    err = refused(tmp_path, doc)
    assert (err.field, err.problem) == ("$.items[1].options", "option set 'yesno' is not defined")


def test_duplicate_option_code(tmp_path):
    doc = base_doc(option_sets={"freq4": [{"code": 0, "label": L}, {"code": 0, "label": L}]})
    err = refused(tmp_path, doc)
    assert (err.field, err.problem) == ("$.option_sets.freq4", "option codes are not unique")


def test_score_names_unknown_item(tmp_path):
    doc = base_doc()
    doc["scores"][0]["items"].append("99")
    err = refused(tmp_path, doc)
    assert (err.field, err.problem) == ("$.scores[0].items[5]", "unknown item id '99'")


def test_never_impute_outside_score(tmp_path):
    doc = base_doc()
    doc["scores"][0]["items"] = ["1", "2"]
    err = refused(tmp_path, doc)
    assert err.field == "$.scores[0].missing.never_impute[0]"
    assert err.problem == "item '5' is not in this score"


def test_count_at_least_needs_threshold(tmp_path):
    doc = base_doc()
    doc["scores"][0]["method"] = "count_at_least"
    err = refused(tmp_path, doc)
    assert (err.field, err.problem) == ("$.scores[0].threshold", "count_at_least needs a threshold")


@pytest.mark.parametrize(
    ("bands", "field", "problem"),
    [
        (
            [{"code": "a", "min": 0, "max": 5}, {"code": "b", "min": 4, "max": None}],
            "$.bands.total[1]",
            "overlaps band 'a'",
        ),
        (
            [{"code": "a", "min": 0, "max": None}, {"code": "b", "min": 4, "max": 8}],
            "$.bands.total[1]",
            "overlaps band 'a'",
        ),
        (
            [{"code": "a", "min": 5, "max": 5}],
            "$.bands.total[0]",
            "max must be greater than min (bands are [min, max))",
        ),
        (
            [{"code": "a", "min": 0, "max": 5}, {"code": "a", "min": 5, "max": 9}],
            "$.bands.total[1].code",
            "band code 'a' is used twice",
        ),
    ],
)
def test_bad_bands(tmp_path, bands, field, problem):
    err = refused(tmp_path, base_doc(bands={"total": [{**b, "label": L} for b in bands]}))
    assert (err.field, err.problem) == (field, problem)


def test_band_for_unknown_score(tmp_path):
    err = refused(
        tmp_path, base_doc(bands={"totl": [{"code": "a", "min": 0, "max": 1, "label": L}]})
    )
    assert (err.field, err.problem) == ("$.bands.totl", "no score named 'totl'")


def test_derived_needs_items_or_from_score(tmp_path):
    err = refused(tmp_path, base_doc(derived=[{"name": "d", "label": L}]))
    assert err.field == "$.derived[0]"
    assert "either items" in err.problem


def test_derived_from_unknown_score(tmp_path):
    err = refused(tmp_path, base_doc(derived=[{"name": "d", "label": L, "from_score": "raw"}]))
    assert (err.field, err.problem) == ("$.derived[0].from_score", "no earlier score named 'raw'")


def test_duplicate_score_name(tmp_path):
    err = refused(
        tmp_path, base_doc(derived=[{"name": "total", "label": L, "from_score": "total"}])
    )
    assert (err.field, err.problem) == ("$.derived[0].name", "score name 'total' is used twice")


def test_ask_if_chain_refused(tmp_path):
    doc = base_doc()
    doc["items"][3]["ask_if"] = {"any_of": ["1"], "min_code": 1}
    doc["items"][4]["ask_if"] = {"any_of": ["4"], "min_code": 1}
    err = refused(tmp_path, doc)
    assert (err.field, err.problem) == (
        "$.items[4].ask_if.any_of[0]",
        "item '4' is itself conditional",
    )


def test_critical_min_code_above_options(tmp_path):
    doc = base_doc()
    doc["items"][4]["critical"] = {"min_code": 4}
    err = refused(tmp_path, doc)
    assert err.field == "$.items[4].critical.min_code"


def test_text_required_when_shipped(tmp_path):
    err = refused(tmp_path, base_doc(text_shipped=True))
    assert (err.field, err.problem) == (
        "$.items[0].text",
        "text is missing although text_shipped is true",
    )


def test_straightline_block_must_mix_keyings(tmp_path):
    err = refused(tmp_path, base_doc(validity={"straightline_blocks": [["1", "2"]]}))
    assert (err.field, err.problem) == (
        "$.validity.straightline_blocks[0]",
        "block must mix reverse and forward items",
    )


def test_lie_scale_unknown_score(tmp_path):
    err = refused(tmp_path, base_doc(validity={"lie_scale": {"score": "lie", "invalid_at": 7}}))
    assert (err.field, err.problem) == ("$.validity.lie_scale.score", "no score named 'lie'")


def test_unknown_check_in_definition(tmp_path):
    err = refused(tmp_path, base_doc(validity={"checks": {"speeding": True}}))
    assert err.field == "$.validity.checks"


def test_library_file_name_must_match_code_and_version(tmp_path):
    write(tmp_path, base_doc(), name="other-1.0.yaml")
    with pytest.raises(DefinitionError, match=r"file name must be test-1\.0\.yaml"):
        load_library(tmp_path)


def test_library_latest_version_and_lookup(tmp_path):
    write(tmp_path, base_doc(version="1.9"), name="test-1.9.yaml")
    write(tmp_path, base_doc(version="1.10"), name="test-1.10.yaml")
    assert load_library(tmp_path)["TEST"].version == "1.10"
    assert get_definition("test", directory=tmp_path).version == "1.10"
    assert get_definition("TEST", "1.9", directory=tmp_path).version == "1.9"
    with pytest.raises(UnknownInstrumentError, match=r"unknown instrument TEST version 2\.0"):
        get_definition("TEST", "2.0", directory=tmp_path)
    with pytest.raises(UnknownInstrumentError, match="unknown instrument NOPE"):
        get_definition("NOPE", directory=tmp_path)


def test_shipped_library_loads():
    # every file in xinqiao/instruments/library must pass the schema and semantic checks
    for code, defn in load_library().items():
        assert defn.code == code
