"""Statistical disclosure control: the rule on examples (the adversarial tests are in
test_disclosure_adversarial.py)."""

from __future__ import annotations

from xinqiao.analytics.disclosure import (
    SMALL_CELL,
    hierarchy_lines,
    protect,
    suppress_table,
    table_lines,
)


def _margins(body: list[list[int]]) -> list[dict]:
    rows = [{"a": r[0], "b": r[1], "c": r[2], "t": sum(r)} for r in body]
    rows.append({k: sum(r[k] for r in rows) for k in "abct"})
    return rows


def test_the_threshold_is_five():
    assert SMALL_CELL == 5


def test_one_respondent_shows_nothing_but_hidden_cells():
    """The issue's defect: "1 · <5 0 0 0 <5" named the band of the only respondent."""
    bands = ["minimal", "mild", "moderate", "moderately_severe", "severe"]
    for band in bands:
        values = {("unit", "s", c): int(c == band) for c in bands} | {("unit", "s", "n"): 1}
        values |= {("group", "d", c): v for (_, _, c), v in values.copy().items()}
        values |= {("all", None, c): v for (lvl, _, c), v in values.copy().items() if lvl == "unit"}
        hidden = protect(values, hierarchy_lines({"d": ["s"]}, [*bands, "n"], "n"))
        assert hidden == set(values)  # the same pattern whatever the band: everything hidden


def test_zeros_beside_a_hidden_cell_are_hidden_and_a_partner_too():
    out = suppress_table(_margins([[20, 0, 3], [30, 20, 10]]), ["a", "b", "c", "t"])
    # row 0: the 3 is small; its zero goes (it would say where the 3 students are not), and a
    # second non-zero cell hides too, so that the row total does not give the 3 back.
    assert out[0] == {"a": None, "b": None, "c": None, "t": 23}
    # columns: each column with a hidden cell has a second non-zero one hidden (row 1)
    assert out[1]["a"] is None
    assert out[1]["b"] is None
    assert out[1]["c"] is None
    assert out[2] == {"a": 50, "b": 20, "c": 13, "t": 83}


def test_a_small_total_hides_its_whole_row():
    out = suppress_table(_margins([[2, 0, 1], [20, 30, 40]]), ["a", "b", "c", "t"])
    assert out[0] == {"a": None, "b": None, "c": None, "t": None}
    for c in "abct":
        assert sum(r[c] is None for r in out) >= 2


def test_a_table_without_small_cells_is_published_whole():
    rows = _margins([[5, 0, 9], [12, 7, 0]])
    assert suppress_table(rows, ["a", "b", "c", "t"]) == rows


def test_the_threshold_can_be_raised():
    rows = _margins([[5, 9, 20], [12, 10, 30]])
    out = suppress_table(rows, ["a", "b", "c", "t"], threshold=10)
    assert out[0]["a"] is None
    assert out[0]["b"] is None


def test_table_lines_are_the_rows_and_columns():
    lines = table_lines(3, ["a", "t"], "t")
    assert ((0, "t"), [(0, "a")]) in lines
    assert ((2, "a"), [(0, "a"), (1, "a")]) in lines
    assert ((2, "t"), [(0, "t"), (1, "t")]) in lines
