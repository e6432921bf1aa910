"""Benchmark: disclosure control of a city table (schools within districts, with subtotals).

A city of 10 districts × 50 schools (500 with --quick: 4 districts × 25), four bands plus the
school total, with the counts a screening produces (many small cells in the severe bands).
Value: `protect` (the rules and the linear-programming audit that closes linked-table gaps,
analytics/disclosure.py). Floor: the rules alone (`_apply_rules`) on the same table in the same
run — the ratio is what the audit costs. Also checks that the audit leaves no hidden cell with
1..4 students provably in 1..4 (by the same solver).

    python bench/disclosure.py            # 500 schools
    python bench/disclosure.py --quick    # 100 schools
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import result_line

from xinqiao.analytics import disclosure

BANDS = ["minimal", "mild", "moderate", "severe"]
COLUMNS = [*BANDS, "n"]


def city(districts: int, schools: int, seed: int = 2) -> tuple[dict, dict]:
    rng = random.Random(seed)
    groups = {d: [(d, s) for s in range(schools)] for d in range(districts)}
    values: dict = {}
    for d, units in groups.items():
        for u in units:
            cells = [
                rng.randint(100, 600),
                rng.randint(5, 60),
                rng.choice([0, 1, 2, 3, 6, 9]),
                rng.choice([0, 0, 1, 2, 5]),
            ]
            values |= {("unit", u, b): v for b, v in zip(BANDS, cells, strict=True)}
            values["unit", u, "n"] = sum(cells)
        for c in COLUMNS:
            values["group", d, c] = sum(values["unit", u, c] for u in units)
    for c in COLUMNS:
        values["all", None, c] = sum(values["group", d, c] for d in groups)
    return groups, values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 schools")
    args = parser.parse_args()
    districts, schools = (4, 25) if args.quick else (10, 50)
    groups, values = city(districts, schools)
    lines = disclosure.hierarchy_lines(groups, COLUMNS, "n")

    t0 = time.perf_counter()
    all_lines = [(total, [total, *parts]) for total, parts in lines]
    rules_only = {c for c, v in values.items() if 0 < v < disclosure.SMALL_CELL}
    order = {key: i for i, key in enumerate(values)}
    disclosure._apply_rules(values, all_lines, rules_only, order, disclosure.SMALL_CELL)
    floor = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    hidden = disclosure.protect(values, lines)
    value = (time.perf_counter() - t0) * 1000

    exposed = disclosure._exposed(values, all_lines, hidden, disclosure.SMALL_CELL)
    print(
        f"{districts * schools} schools, {len(values):,} cells: rules hide {len(rules_only):,}, "
        f"rules + audit hide {len(hidden):,}; exposed after the audit: {exposed}"
    )
    print(result_line("disclosure_protect", value, "ms", floor))
    if exposed is not None:
        sys.exit(1)


if __name__ == "__main__":
    main()
