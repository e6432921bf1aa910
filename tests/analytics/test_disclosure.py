"""Statistical disclosure control: no small cell published, none recoverable by subtraction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xinqiao.analytics.disclosure import SMALL_CELL, suppress_small_cells, suppress_table

# --- primary and secondary suppression of rows published with their total -------------------


def test_suppress_small_cells_primary_and_secondary():
    rows = [
        {"unit": "a", "n": 30, "minimal": 20, "mild": 7, "severe": 3},
        {"unit": "b", "n": 30, "minimal": 22, "mild": 8, "severe": 0},
        {"unit": "c", "n": 9, "minimal": 4, "mild": 3, "severe": 2},
    ]
    out = suppress_small_cells(rows, ["minimal", "mild", "severe"])
    # One small cell alone could be recovered from n: the next smallest goes too.
    assert out[0] == {"unit": "a", "n": 30, "minimal": 20, "mild": None, "severe": None}
    assert out[1] == rows[1]  # zeros and large cells stay
    assert out[2] == {"unit": "c", "n": 9, "minimal": None, "mild": None, "severe": None}
    assert rows[0]["mild"] == 7  # input untouched


def test_a_lone_small_cell_takes_a_zero_when_nothing_else_is_non_zero():
    out = suppress_small_cells([{"n": 3, "x": 3, "y": 0}], ["x", "y"])
    assert out == [{"n": 3, "x": None, "y": None}]


def test_the_threshold_is_five_and_can_be_raised():
    assert SMALL_CELL == 5
    row = {"x": 5, "y": 9, "z": 20}
    assert suppress_small_cells([row], ["x", "y", "z"]) == [row]
    assert suppress_small_cells([row], ["x", "y", "z"], threshold=10) == [
        {"x": None, "y": None, "z": 20}
    ]


def _row_leaks(before: dict, after: dict, columns: list[str], total: int) -> bool:
    """Whether a hidden cell of the row equals the total minus the published cells."""
    hidden = [c for c in columns if after[c] is None]
    rest = total - sum(after[c] for c in columns if after[c] is not None)
    return len(hidden) == 1 and before[hidden[0]] == rest


@given(
    st.lists(
        st.fixed_dictionaries({k: st.integers(0, 40) for k in ("x", "y", "z")}),
        max_size=20,
    ),
    st.integers(2, 10),
)
def test_rows_never_publish_or_give_back_a_small_cell(rows, threshold):
    columns = ["x", "y", "z"]
    for row in rows:
        row["n"] = sum(row[c] for c in columns)
    out = suppress_small_cells(rows, columns, threshold=threshold)
    for before, after in zip(rows, out, strict=True):
        shown = [c for c in columns if after[c] is not None]
        assert all(after[c] == 0 or after[c] >= threshold for c in shown)
        assert all(after[c] == before[c] for c in shown)  # published cells are true
        assert after["n"] == before["n"]
        assert sum(after[c] is None for c in columns) != 1
        assert not _row_leaks(before, after, columns, before["n"])


# --- complementary suppression of a table with margins ----------------------------------------


def test_suppress_table_hides_small_cells_and_their_partners():
    rows = [
        {"red": 10, "orange": 10, "yellow": 10, "total": 30},
        {"red": 3, "orange": 10, "yellow": 10, "total": 23},
        {"red": 13, "orange": 20, "yellow": 20, "total": 53},
    ]

    out = suppress_table(rows, ["red", "orange", "yellow", "total"])

    assert out == [
        {"red": None, "orange": None, "yellow": 10, "total": 30},
        {"red": None, "orange": None, "yellow": 10, "total": 23},
        {"red": 13, "orange": 20, "yellow": 20, "total": 53},
    ]
    assert rows[1]["red"] == 3  # the input is not changed


def test_suppress_table_no_row_or_column_with_a_single_hidden_cell():
    rows = [
        {"a": 1, "b": 9, "c": 9, "t": 19},
        {"a": 9, "b": 9, "c": 9, "t": 27},
        {"a": 9, "b": 9, "c": 2, "t": 20},
        {"a": 19, "b": 27, "c": 20, "t": 66},
    ]
    cols = ["a", "b", "c", "t"]

    out = suppress_table(rows, cols)

    for row in out:
        assert sum(row[c] is None for c in cols) != 1
    for c in cols:
        assert sum(r[c] is None for r in out) != 1
    assert out[0]["a"] is None
    assert out[2]["c"] is None


def test_a_small_total_is_hidden_with_its_cells():
    rows = [
        {"a": 2, "b": 1, "t": 3},
        {"a": 20, "b": 30, "t": 50},
        {"a": 22, "b": 31, "t": 53},
    ]
    out = suppress_table(rows, ["a", "b", "t"])
    assert out[0] == {"a": None, "b": None, "t": None}
    # and the column totals do not give the row back: each column hides a second cell
    for c in ("a", "b", "t"):
        assert sum(r[c] is None for r in out) >= 2


def _with_margins(body: list[list[int]]) -> tuple[list[dict], list[str]]:
    columns = [f"c{i}" for i in range(len(body[0]))] + ["total"]
    rows = [{**{f"c{i}": v for i, v in enumerate(r)}, "total": sum(r)} for r in body]
    rows.append({c: sum(r[c] for r in rows) for c in columns})
    return rows, columns


tables = st.integers(1, 5).flatmap(
    lambda width: st.lists(
        st.lists(st.integers(0, 30), min_size=width, max_size=width), min_size=1, max_size=8
    )
)


@given(tables, st.integers(2, 10))
def test_tables_never_publish_or_give_back_a_small_cell(body, threshold):
    rows, columns = _with_margins(body)
    out = suppress_table([dict(r) for r in rows], columns, threshold=threshold)
    for before, after in zip(rows, out, strict=True):
        for c in columns:
            if after[c] is not None:
                assert after[c] == before[c]
                assert after[c] == 0 or after[c] >= threshold
    # No row and no column with exactly one hidden cell: its margin (or, for a hidden margin,
    # the other cells) would give it back by subtraction.
    for after in out:
        assert sum(after[c] is None for c in columns) != 1
    for c in columns:
        assert sum(r[c] is None for r in out) != 1
    # Checked directly: a row total minus its published cells never equals a lone hidden cell.
    for before, after in zip(rows[:-1], out[:-1], strict=True):
        if after["total"] is not None:
            assert not _row_leaks(before, after, columns[:-1], before["total"])
