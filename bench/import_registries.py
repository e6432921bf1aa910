"""Benchmark: bulk imports of issue 14's registries through the registry import framework, each
against a raw COPY floor measured in the same run, one `RESULT import_<registry> …` line each.

    python bench/import_registries.py            # 200,000 training rows
    python bench/import_registries.py --quick    # 20,000 training rows

The database is a scratch PostgreSQL database (dropped, re-created and migrated; BENCH_DATABASE_URL
names the server, default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os

from _common import use_scratch_database
from _registries_training import import_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--training-rows", type=int)
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_DB", "xinqiao_bench_registries")
    )
    args = parser.parse_args()
    use_scratch_database(args.database)
    import_training(rows=args.training_rows or (20_000 if args.quick else 200_000))


if __name__ == "__main__":
    main()
