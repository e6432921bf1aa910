"""Statistical disclosure control: what an aggregate may publish about small groups.

Every published count of students (T0, architecture.md) goes through here: screening's band
counts, the red board's case counts, and the next dashboards, indicators and inspection reports
must too, instead of hiding cells their own way. A count of 1..SMALL_CELL-1 is never shown
(primary suppression), and a suppressed cell is never recoverable by subtraction from a published
total and the other published cells of its row or column (complementary suppression).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Counts below this are hidden ("<5"); zero is shown (it reveals nobody).
SMALL_CELL = 5


def suppress_small_cells(
    rows: Sequence[Mapping[str, int | None]],
    columns: Sequence[str],
    *,
    threshold: int = SMALL_CELL,
) -> list[dict[str, int | None]]:
    """Replace counts 1..threshold-1 by None (shown "<5"), row by row.

    For rows published with their total beside them: when exactly one cell of a row would be
    hidden, the row total would give it back by subtraction, so the next smallest cell (non-zero
    first) is hidden too.
    """
    out = []
    for row in rows:
        new = dict(row)
        hidden = [c for c in columns if isinstance(row.get(c), int) and 0 < row[c] < threshold]  # type: ignore[operator]
        if len(hidden) == 1:
            # The smallest other non-zero cell; if there is none, a zero (hiding a zero
            # still stops "n minus the rest" from giving the small cell back).
            others = sorted(
                (c for c in columns if c not in hidden and isinstance(row.get(c), int)),
                key=lambda c: (row[c] == 0, row[c]),  # type: ignore[arg-type, return-value]
            )
            if others:
                hidden.append(others[0])
        for c in hidden:
            new[c] = None
        out.append(new)
    return out


def suppress_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], *, threshold: int = SMALL_CELL
) -> list[dict[str, Any]]:
    """For a table with margins (the last row the column totals, the last column the row totals):
    suppress_small_cells, then complementary suppression until no row and no column has exactly
    one hidden cell, since a single hidden cell in either direction could be given back by
    subtraction."""
    out = suppress_small_cells(rows, columns, threshold=threshold)

    def key(value: Any) -> tuple[bool, int]:
        return (value == 0, int(value))

    changed = True
    while changed:
        changed = False
        for row in out:
            shown = [c for c in columns if row[c] is not None]
            if len(columns) - len(shown) == 1 and shown:
                row[min(shown, key=lambda c: key(row[c]))] = None
                changed = True
        for c in columns:
            shown_rows = [r for r in out if r[c] is not None]
            if len(out) - len(shown_rows) == 1 and shown_rows:
                min(shown_rows, key=lambda r: key(r[c]))[c] = None
                changed = True
    return out
