"""`manage.py seed_demo [--students N] [--seed S] [--if-empty]`: load the demo city 示例市."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.demo.generator import (
    DEFAULT_SEED,
    DEFAULT_STUDENTS,
    DEMO_PASSWORD,
    DemoLogin,
    demo_logins,
    seed_demo_city,
)
from xinqiao.demo.two_factor import demo_allowed, demo_secret_grouped, enrol_demo_accounts
from xinqiao.orgs.models import OrgUnit


class Command(BaseCommand):
    help = "Load the fictitious demo city 示例市 into an empty database and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students", type=int, default=DEFAULT_STUDENTS)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (successfully) when the database already has an org tree.",
        )

    def handle(self, *args: Any, students: int, seed: int, if_empty: bool, **options: Any) -> None:
        if OrgUnit.objects.exists():
            if if_empty:
                self.stdout.write("seed_demo: the database already has data; demo city not loaded.")
                logins = demo_logins()
                if logins:  # a demo city from before two-factor sign-in gets its authenticators
                    self.enrol_second_factor()
                self.print_logins(logins)  # a second `make run` still shows how to log in
                return
            raise CommandError(
                "The database already has an org tree. The demo city loads only into an empty "
                "database (use a fresh DATABASE_URL, or delete var/xinqiao.sqlite3 for SQLite)."
            )
        started = time.perf_counter()
        try:
            city = seed_demo_city(students=students, seed=seed, cases=True)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        counts = city.counts
        self.stdout.write(
            f"Demo city {city.city.name} loaded in {elapsed:.1f}s (seed {seed}): "
            f"{counts['schools']} schools, {counts['classes']} classes, "
            f"{counts['students']} students, {counts['guardians']} guardians, "
            f"{counts['staff']} staff, {counts['users']} accounts."
        )
        open_cases = sum(
            v for k, v in counts.items() if k in ("cases_red", "cases_orange", "cases_yellow")
        )
        self.stdout.write(
            f"Demo high-care cases: {open_cases} open (red {counts.get('cases_red', 0)}, "
            f"orange {counts.get('cases_orange', 0)}, yellow {counts.get('cases_yellow', 0)}), "
            f"{counts.get('cases_closed', 0)} closed, {counts.get('alerts_open', 0)} alerts to "
            "verify: see docs/demo.md."
        )
        self.enrol_second_factor()
        self.print_logins(city.logins)

    def enrol_second_factor(self) -> None:
        """Development only: the demo staff accounts share one published authenticator secret."""
        self.second_factor = demo_allowed()
        if self.second_factor:
            enrol_demo_accounts()
        else:
            self.stdout.write(
                "Demo accounts got no authenticator (DEBUG is off or this is production): each "
                "staff account sets up its own at the first sign-in."
            )

    def print_logins(self, logins: list[DemoLogin]) -> None:
        if not logins:
            return
        self.stdout.write("")
        self.stdout.write(f"Demo logins (every demo account's password: {DEMO_PASSWORD})")
        rows = [("username", "role", "unit")] + [(x.username, x.role, x.unit) for x in logins]
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        for i, (username, role, unit) in enumerate(rows):
            self.stdout.write(f"  {username:<{w0}}  {role:<{w1}}  {unit}")
            if i == 0:
                self.stdout.write(f"  {'-' * w0}  {'-' * w1}  {'-' * 20}")
        if getattr(self, "second_factor", False):
            self.stdout.write(
                f"Two-factor sign-in: staff accounts share the authenticator secret "
                f"{demo_secret_grouped()}; `python manage.py demo_otp` prints the current code."
            )
        self.stdout.write("More accounts follow the same pattern: see docs/demo.md.")
