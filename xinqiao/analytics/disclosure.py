"""Statistical disclosure control: what an aggregate may publish about small groups.

Every published count of students (T0, architecture.md) goes through here: screening's aggregate
results, the red board's case counts, and the next dashboards, indicators and inspection reports
must too, instead of hiding cells their own way. The rule (docs/disclosure.md) works on *cells*
(any published count: a band of a school, a school's total, a district's subtotal, the grand total)
and *lines* (an additive relation a reader can use: a total and the cells that add up to it — a
row with its total, a column with its total, a district's subtotal with its schools). Repeated
until nothing changes:

1. **Small counts** — a cell from 1 to k-1 (k = SMALL_CELL = 5) is hidden, totals included. A
   row whose total is small therefore shows nothing at all (rule 2 hides its zeros, rule 1 its
   other cells, which are all smaller than the total).
2. **Zeros beside hidden cells** — in a line with a hidden cell, zeros are hidden too: a zero shown
   next to hidden cells tells the reader where the hidden students are *not*, and the total then
   narrows them to fewer cells (with one respondent, "1 · <5 0 0 0 <5" names the band).
3. **Complementary suppression** — a line with a hidden cell has at least two hidden cells, one
   of them not zero (more are hidden: the line's parts first, smallest first, its total last), so
   that no hidden cell is the line's total minus what is shown, and a hidden zero is not known to
   be zero (the non-zero hidden cell of the line could give it some of its students).
4. **Enough behind a shown total** — when a line's total is shown, its hidden parts hold at least
   k students together (more parts are hidden, smallest first, else the total), since hidden
   parts adding up to less than k would each be known to be under k.
5. **Audit** — linked tables (schools within districts) can still leave a hidden cell provably
   small; each hidden cell with 1..k-1 students is solved for by linear programming, and while
   one is exposed another cell of its lines is hidden and rules 1–4 run again.

What is guaranteed (and checked by tests/analytics/test_disclosure_adversarial.py, which solves
for every hidden cell over all non-negative integer tables agreeing with what is published): no
published count lies in 1..k-1, and no hidden cell that holds students has a single possible
value or is provably in 1..k-1 (it can be 0, or k and more). A hidden zero may still be worked
out as zero when a whole line is zero (nobody of a district in a band): that names nobody. The
pattern of hidden cells of a row with a small total does not depend on how its students fall
into the bands (the whole row is hidden).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

# Counts from 1 to SMALL_CELL-1 are never published.
SMALL_CELL = 5

K = TypeVar("K", bound=Hashable)


def protect(
    values: Mapping[K, int],
    lines: Iterable[tuple[K, Sequence[K]]],
    *,
    threshold: int = SMALL_CELL,
) -> set[K]:
    """The cells to hide. `values`: every published count by key; `lines`: (total, parts) for
    every additive relation between published cells (total = sum of parts). Deterministic: ties
    are broken by the order of `values`.

    Rules 1–4 (above), then an audit: each hidden cell that holds students is solved for, as an
    attacker would, over all tables agreeing with what is shown (`_ranges`); while one is pinned
    or provably small, one more cell of its lines is hidden and the rules run again. The rules
    alone hold for one table with margins; linked tables (schools within districts) need the
    audit."""
    all_lines = [(total, [total, *parts]) for total, parts in lines]
    order = {key: i for i, key in enumerate(values)}
    hidden = {c for c, v in values.items() if 0 < v < threshold}
    while True:
        _apply_rules(values, all_lines, hidden, order, threshold)
        exposed = _exposed(values, all_lines, hidden, threshold)
        if exposed is None:
            return hidden
        more = sorted(
            (
                c
                for total, cells in all_lines
                if exposed in cells
                for c in cells
                if c not in hidden and values[c] > 0
            ),
            key=lambda c: (any(c == t for t, _ in all_lines), values[c], order[c]),
        )
        if not more:
            return hidden
        hidden.add(more[0])


def _apply_rules(
    values: Mapping[K, int],
    all_lines: list[tuple[K, list[K]]],
    hidden: set[K],
    order: Mapping[K, int],
    threshold: int,
) -> None:
    changed = True
    while changed:
        changed = False
        for total, cells in all_lines:
            if not any(c in hidden for c in cells):
                continue
            for c in cells:
                if values[c] == 0 and c not in hidden:
                    hidden.add(c)
                    changed = True
            n_hidden = sum(1 for c in cells if c in hidden)
            non_zero = sum(1 for c in cells if c in hidden and values[c] > 0)
            candidates = sorted(
                (c for c in cells if c not in hidden),
                key=lambda c: (c == total, values[c], order[c]),
            )
            while (n_hidden < 2 or non_zero < 1) and candidates:
                hidden.add(candidates.pop(0))
                n_hidden += 1
                non_zero += 1
                changed = True
            if total in hidden:
                continue
            residual = sum(values[c] for c in cells[1:] if c in hidden)
            candidates = [c for c in candidates if c != total]
            while residual < threshold and candidates:
                c = candidates.pop(0)
                hidden.add(c)
                residual += values[c]
                changed = True
            if residual < threshold:
                hidden.add(total)
                changed = True


def _exposed(
    values: Mapping[K, int],
    all_lines: list[tuple[K, list[K]]],
    hidden: set[K],
    threshold: int,
) -> K | None:
    """The first hidden cell with 1..threshold-1 students that a reader can prove to hold
    1..threshold-1 (pinned included), or None. A cell of `threshold` or more cannot be exposed:
    its greatest possible value is at least its true one."""
    small = {c for c in hidden if 0 < values[c] < threshold}
    for cell, (low, high) in _ranges(values, all_lines, hidden, small).items():
        if low >= 1 and high is not None and high < threshold:
            return cell
    return None


def _ranges(
    values: Mapping[K, int],
    all_lines: list[tuple[K, list[K]]],
    hidden: set[K],
    asked: set[K],
) -> dict[K, tuple[int, int | None]]:
    """The least and (when the least is not 0) the greatest value of each `asked` hidden cell over
    all non-negative tables agreeing with the shown cells and the lines, by linear programming per
    connected group of hidden cells. The lines' matrices (tables with margins, nested subtotals)
    are totally unimodular, so the optima are integers (rounded from HiGHS's floating point)."""
    import numpy as np
    from scipy.optimize import linprog

    relevant = [cells for _, cells in all_lines if any(c in hidden for c in cells)]
    parent = {c: c for c in hidden}

    def root(c: K) -> K:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for cells in relevant:
        inside = [c for c in cells if c in hidden]
        for c in inside[1:]:
            parent[root(c)] = root(inside[0])
    groups: dict[K, list[K]] = {}
    for c in hidden:
        groups.setdefault(root(c), []).append(c)
    wanted = {root(c) for c in asked}
    out: dict[K, tuple[int, int | None]] = {}
    for group, members in groups.items():
        if group not in wanted:
            continue
        index = {c: i for i, c in enumerate(members)}
        rows, rhs = [], []
        for cells in relevant:
            if not any(c in index for c in cells):
                continue
            total, parts = cells[0], cells[1:]
            row = np.zeros(len(members))
            constant = 0
            for sign, c in [(1, total)] + [(-1, p) for p in parts]:
                if c in index:
                    row[index[c]] += sign
                else:
                    constant -= sign * values[c]
            rows.append(row)
            rhs.append(constant)
        a_eq, b_eq = np.array(rows), np.array(rhs, dtype=float)
        for c in members:
            if c not in asked:
                continue
            objective = np.zeros(len(members))
            objective[index[c]] = 1
            low = round(linprog(objective, A_eq=a_eq, b_eq=b_eq, method="highs").fun)
            if low == 0:
                out[c] = (0, None)  # could be nobody: safe whatever the maximum
                continue
            high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, method="highs")
            out[c] = (low, None if high.status == 3 else round(-high.fun))  # 3: unbounded
    return out


def table_lines(
    n_rows: int, columns: Sequence[str], total_column: str
) -> list[tuple[tuple[int, str], list[tuple[int, str]]]]:
    """The lines of a table whose last row holds the column totals and whose `total_column` holds
    the row totals: each row, and each column (the total column included)."""
    parts = [c for c in columns if c != total_column]
    lines = [((i, total_column), [(i, c) for c in parts]) for i in range(n_rows)]
    last = n_rows - 1
    lines += [((last, c), [(i, c) for i in range(last)]) for c in columns]
    return lines


def suppress_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    threshold: int = SMALL_CELL,
) -> list[dict[str, Any]]:
    """A table with margins: the last row holds the column totals and the last of `columns` the
    row totals. Returns copies of the rows with hidden cells set to None (see `protect`)."""
    values = {(i, c): int(row[c]) for i, row in enumerate(rows) for c in columns}
    hidden = protect(values, table_lines(len(rows), columns, columns[-1]), threshold=threshold)
    out = []
    for i, row in enumerate(rows):
        new = dict(row)
        for c in columns:
            if (i, c) in hidden:
                new[c] = None
        out.append(new)
    return out


def hierarchy_lines(
    groups: Mapping[Hashable, Sequence[Hashable]], columns: Sequence[str], total_column: str
) -> list[tuple[tuple[str, Hashable, str], list[tuple[str, Hashable, str]]]]:
    """The lines of a two-level table: units (rows) in groups, each group's subtotal row, and the
    grand total row ("all", None, column); every row's `total_column` is the sum of its other
    columns. Cells are keyed (level, key, column) with level "unit", "group" or "all"."""
    parts = [c for c in columns if c != total_column]
    rows: list[tuple[str, Hashable]] = [("all", None)]
    rows += [("group", g) for g in groups]
    rows += [("unit", u) for units in groups.values() for u in units]
    lines: list[tuple[tuple[str, Hashable, str], list[tuple[str, Hashable, str]]]] = [
        ((level, key, total_column), [(level, key, c) for c in parts]) for level, key in rows
    ]
    for c in columns:
        lines.append((("all", None, c), [("group", g, c) for g in groups]))
        for g, units in groups.items():
            lines.append((("group", g, c), [("unit", u, c) for u in units]))
    return lines
