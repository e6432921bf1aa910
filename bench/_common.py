"""Helpers shared by the benchmarks: a scratch PostgreSQL database, peak RSS, the RESULT line."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def use_scratch_database(name: str) -> str:
    """Point Django at a fresh PostgreSQL database `name` (dropped and re-created), migrated."""
    import psycopg

    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return url


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def result_line(name: str, value: float, unit: str, floor: float) -> str:
    ratio = value / floor if floor else 0.0
    return (
        f"RESULT {name} value={value:.1f} unit={unit} floor={floor:.1f} "
        f"ratio={ratio:.3f} peak_rss_mb={peak_rss_mb():.0f}"
    )
