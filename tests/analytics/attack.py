"""The attacker of the disclosure tests: from what an aggregate publishes (the shown cells and the
additive relations between cells — a row and its total, a column and its total, a district and its
schools), work out every hidden cell's range over all non-negative tables that agree with it.

Exact rational simplex (two phases, Bland's rule) over the hidden cells: minimise and maximise each
one subject to the lines. For a table with margins the constraint matrix is totally unimodular, so
the vertex optima are integers and every integer between them is a value some integer table takes;
for other layouts `ranges` checks that the optima it found are integers (else it fails: the
integer range would need enumeration).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction

INF = None  # an unbounded maximum


class _Tableau:
    def __init__(self, a: list[list[Fraction]], b: list[Fraction]):
        self.n = len(a[0]) if a else 0
        m = len(a)
        self.rows: list[list[Fraction]] = []
        for i in range(m):
            sign = -1 if b[i] < 0 else 1
            art = [Fraction(int(j == i)) for j in range(m)]
            self.rows.append([sign * x for x in a[i]] + art + [sign * b[i]])
        self.basis = [self.n + i for i in range(m)]
        self.width = self.n + m
        # Phase 1: minimise the sum of the artificial variables.
        obj = [Fraction(0)] * self.n + [Fraction(1)] * m + [Fraction(0)]
        for row in self.rows:
            obj = [o - r for o, r in zip(obj, row, strict=True)]
        if self._run(obj, range(self.width)) is None or -obj[-1] != 0:
            raise AssertionError("the published table is inconsistent")
        # Drive artificial variables out of the basis; drop redundant rows.
        i = 0
        while i < len(self.rows):
            if self.basis[i] >= self.n:
                col = next((j for j in range(self.n) if self.rows[i][j] != 0), None)
                if col is None:
                    del self.rows[i], self.basis[i]
                    continue
                self._pivot(i, col, [])
            i += 1

    def _pivot(self, r: int, col: int, objs: list[list[Fraction]]) -> None:
        p = self.rows[r][col]
        self.rows[r] = [x / p for x in self.rows[r]]
        pivot_row = self.rows[r]
        for i, row in enumerate(self.rows):
            if i != r and row[col] != 0:
                f = row[col]
                self.rows[i] = [x - f * y for x, y in zip(row, pivot_row, strict=True)]
        for obj in objs:
            if obj[col] != 0:
                f = obj[col]
                obj[:] = [x - f * y for x, y in zip(obj, pivot_row, strict=True)]
        self.basis[r] = col

    def _run(self, obj: list[Fraction], allowed: Iterable[int]) -> list[Fraction] | None:
        allowed = list(allowed)
        while True:
            col = next((j for j in allowed if obj[j] < 0), None)
            if col is None:
                return obj
            best = None
            for i, row in enumerate(self.rows):
                if row[col] > 0:
                    ratio = row[-1] / row[col]
                    if best is None or (ratio, self.basis[i]) < best[0]:
                        best = ((ratio, self.basis[i]), i)
            if best is None:
                return None  # unbounded
            self._pivot(best[1], col, [obj])

    def optimum(self, var: int, sign: int) -> Fraction | None:
        """min of sign * x[var] (None: unbounded); the tableau is restored afterwards."""
        saved = ([list(r) for r in self.rows], list(self.basis))
        obj = [Fraction(0)] * (self.width + 1)
        obj[var] = Fraction(sign)
        for i, b in enumerate(self.basis):
            if obj[b] != 0:
                f = obj[b]
                obj = [x - f * y for x, y in zip(obj, self.rows[i], strict=True)]
        done = self._run(obj, range(self.n))
        value = None if done is None else -done[-1]
        self.rows, self.basis = saved
        return value


def ranges(
    published: Mapping[Hashable, int | None], lines: Iterable[tuple[Hashable, Sequence[Hashable]]]
) -> dict[Hashable, tuple[int, int | None]]:
    """(min, max) of every hidden cell (value None in `published`); max None means unbounded."""
    hidden = [k for k, v in published.items() if v is None]
    index = {k: i for i, k in enumerate(hidden)}
    a: list[list[Fraction]] = []
    b: list[Fraction] = []
    for total, parts in lines:
        row = [Fraction(0)] * len(hidden)
        const = Fraction(0)
        for key, coef in [(total, 1), *((p, -1) for p in parts)]:
            value = published[key]
            if value is None:
                row[index[key]] += coef
            else:
                const -= coef * value
        if any(row):
            a.append(row)
            b.append(const)
        else:
            assert const == 0, "the published cells of a line do not add up"
    if not hidden:
        return {}
    tableau = _Tableau(a, b)
    out: dict[Hashable, tuple[int, int | None]] = {}
    for key, i in index.items():
        low = tableau.optimum(i, 1)
        neg_high = tableau.optimum(i, -1)
        assert low is not None
        high = None if neg_high is None else -neg_high
        for v in (low, high):
            assert v is None or v.denominator == 1, f"non-integral optimum {v} for {key}"
        out[key] = (int(low), None if high is None else int(high))
    return out
