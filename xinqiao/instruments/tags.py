"""Semantic item tags: what an item means, whatever instrument asks it.

An item carries `tags: [suicide.past_attempt]` in its instrument file; an alert rule may test a tag
(`{tag: suicide.past_attempt, op: ge, value: 1}`) and then every instrument's item with that tag
counts the same. Items sharing a tag share their meaning, period and coding (checked by
tests/instruments/test_tags.py); docs/alert-rules.md lists which item carries which tag.

Pure Python (the schema and the engine import it without Django); the readable labels are in
`tag_labels.py`.
"""

from __future__ import annotations

# tag -> coding every item with the tag uses: "yes_no" (0 = no, 1 = yes), "frequency_0_3"
# (0 not at all … 3 nearly every day), "acuity" (0 = no, 5 = yes: ASQ's acuity question).
TAGS: dict[str, str] = {
    "suicide.passive_ideation": "yes_no",
    "suicide.current_thoughts": "yes_no",
    "suicide.recent_serious_thoughts": "yes_no",
    "suicide.thoughts_frequency": "frequency_0_3",
    "suicide.acute_thoughts": "acuity",
    "suicide.current_plan": "yes_no",
    "suicide.past_attempt": "yes_no",
}

# Codes of each coding (what the items' option sets must be).
CODINGS: dict[str, frozenset[int]] = {
    "yes_no": frozenset({0, 1}),
    "frequency_0_3": frozenset({0, 1, 2, 3}),
    "acuity": frozenset({0, 5}),
}
