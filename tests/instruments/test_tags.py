"""Semantic item tags in the instrument files (instruments/tags.py)."""

from __future__ import annotations

import copy

import pytest

from xinqiao.instruments.definition import definition_from_document, get_definition, load_library
from xinqiao.instruments.schema import DefinitionError
from xinqiao.instruments.tag_labels import LABELS
from xinqiao.instruments.tags import CODINGS, TAGS


def test_the_library_tags_every_suicide_item_by_meaning():
    assert get_definition("ASQ").tagged_items == {
        "suicide.passive_ideation": ("1", "2"),
        "suicide.current_thoughts": ("3",),
        "suicide.past_attempt": ("4",),
        "suicide.acute_thoughts": ("5",),
    }
    assert get_definition("PHQ-A").tagged_items == {
        "suicide.thoughts_frequency": ("9",),
        "suicide.recent_serious_thoughts": ("12",),
        "suicide.past_attempt": ("13",),
    }
    assert get_definition("PHQ-9").tagged_items == {"suicide.thoughts_frequency": ("9",)}


def test_items_sharing_a_tag_share_its_coding():
    for defn in load_library().values():
        for item in defn.items:
            for tag in item.tags:
                codes = frozenset(defn.option_codes(item))
                assert codes == CODINGS[TAGS[tag]], (defn.code, item.id)


def test_every_tag_has_a_label():
    assert set(LABELS) == set(TAGS)


def _asq_doc():
    return copy.deepcopy(dict(get_definition("ASQ").document))


def test_an_unknown_tag_is_refused():
    doc = _asq_doc()
    doc["items"][3]["tags"] = ["suicide.past_atempt"]
    with pytest.raises(DefinitionError, match="tags"):
        definition_from_document(doc)


def test_a_tag_on_an_item_of_another_coding_is_refused():
    doc = _asq_doc()
    doc["items"][4]["tags"] = ["suicide.past_attempt"]  # the acuity item codes "yes" as 5
    with pytest.raises(DefinitionError, match="option codes"):
        definition_from_document(doc)
