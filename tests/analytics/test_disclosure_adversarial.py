"""The attacker's test of disclosure control: for random tables, publish what the rule lets through,
then solve for every hidden cell over all non-negative integer tables that agree with what is
published (tests/analytics/attack.py: exact bounds by linear programming; the constraint
matrices are totally unimodular, so the bounds are integers and every value between them is
taken by some table). The property guaranteed, for every hidden cell x with feasible values F(x):

1. every published count is the true count, and is 0 or at least k;
2. if x hides students (its true count is not 0), x is not pinned: F(x) has at least two values;
3. and x is not known to be small: F(x) is not inside 1..k-1 (it holds 0, or k or more).

A hidden zero can sometimes be worked out (a band with nobody in a whole district, say): that
names nobody, and the solver takes such deductions into account for the cells that do hide
students.

for tables with margins (the red board) and for schools within districts with subtotals and a
total (screening's aggregates: the "by school" and "by district" views together).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinqiao.analytics.disclosure import SMALL_CELL, hierarchy_lines, protect, table_lines

from .attack import ranges

# Many small counts and zeros, some large ones: the cases that matter.
counts = st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 40))
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_safe(values, lines, threshold):
    hidden = protect(values, lines, threshold=threshold)
    published = {k: (None if k in hidden else v) for k, v in values.items()}
    for k, v in published.items():
        assert v is None or v == 0 or v >= threshold, (k, v)
    for key, (low, high) in ranges(published, lines).items():
        true = values[key]
        assert low <= true
        assert high is None or true <= high
        if true == 0:
            continue
        # Pinned to k or more: no harm (such a count could have been published).
        assert high is None or high > low or low >= threshold, f"{key} pinned to {low}"
        assert low == 0 or high is None or high >= threshold, f"{key} known in {low}..{high}"
    return hidden


@fast
@given(
    st.integers(1, 4).flatmap(
        lambda w: st.lists(st.lists(counts, min_size=w, max_size=w), min_size=1, max_size=4)
    ),
    st.sampled_from([SMALL_CELL, 3, 10]),
)
def test_no_hidden_cell_of_a_table_with_margins_is_recovered(body, threshold):
    columns = [f"c{i}" for i in range(len(body[0]))] + ["total"]
    rows = [[*r, sum(r)] for r in body]
    rows.append([sum(col) for col in zip(*rows, strict=True)])
    values = {(i, c): v for i, row in enumerate(rows) for c, v in zip(columns, row, strict=True)}
    assert_safe(values, table_lines(len(rows), columns, "total"), threshold)


# Tables the rules alone left open (found by the random search below before the audit existed).
FOUND_BEFORE = [
    [[[0, 5], [1, 0], [2, 0]], [[3, 2]]],  # district 0's band b0 (3) was bounded to 1..3
]


@pytest.mark.parametrize("districts", FOUND_BEFORE)
def test_tables_the_rules_alone_left_open(districts):
    check_schools_within_districts(districts)


@fast
@given(
    st.integers(1, 3).flatmap(
        lambda bands: st.lists(
            st.lists(st.lists(counts, min_size=bands, max_size=bands), min_size=1, max_size=3),
            min_size=1,
            max_size=3,
        )
    )
)
def test_no_hidden_cell_of_schools_within_districts_is_recovered(districts):
    check_schools_within_districts(districts)


def check_schools_within_districts(districts):
    bands = [f"b{i}" for i in range(len(districts[0][0]))]
    columns = [*bands, "n"]
    groups = {d: [(d, s) for s in range(len(schools))] for d, schools in enumerate(districts)}
    values = {}
    for d, schools in enumerate(districts):
        for s, cells in enumerate(schools):
            values |= {("unit", (d, s), b): v for b, v in zip(bands, cells, strict=True)}
            values["unit", (d, s), "n"] = sum(cells)
        for c in columns:
            values["group", d, c] = sum(values["unit", u, c] for u in groups[d])
    for c in columns:
        values["all", None, c] = sum(values["group", d, c] for d in groups)
    assert_safe(values, hierarchy_lines(groups, columns, "n"), SMALL_CELL)


def test_the_attacker_recovers_what_the_old_rule_let_through():
    """The attacker is not blind: the issue's pattern, published as before (one respondent, n
    shown, the small cell and one zero hidden), pins the severe cell to 1."""
    cols = ["minimal", "mild", "moderate", "severe", "n"]
    lines = [("n", cols[:-1])]
    published = {"minimal": None, "mild": 0, "moderate": 0, "severe": None, "n": 1}
    got = ranges(published, lines)
    assert got["severe"] == (0, 1)  # arithmetic alone: 0 or 1 ...
    # ... but that zero was hidden only because severe was small (the complement goes to the
    # first zero), so a reader who knows the rule reads "severe"; and with n shown and the zeros
    # of the row published, a lone hidden cell is pinned:
    assert ranges({**published, "minimal": 0}, lines)["severe"] == (1, 1)
