"""`manage.py health`: the operators' report of /healthz in a shell; exits 1 when a check fails."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.core import health


class Command(BaseCommand):
    help = (
        "Database, Redis, the worker's heartbeat and the alert chain's queues; exit 1 on failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the /healthz document")
        parser.add_argument(
            "--only",
            action="append",
            default=[],
            metavar="CHECK",
            help="report only this check (repeatable), e.g. --only worker for a watchdog",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        only = frozenset(options["only"]) or None
        checks = health.report(only=only)
        if only:
            if unknown := only - {c.name for c in checks}:
                raise CommandError("no such check: " + ", ".join(sorted(unknown)))
        if options["json"]:
            doc = {c.name: c.as_dict() for c in checks}
            self.stdout.write(json.dumps(doc, ensure_ascii=False))
        else:
            for c in checks:
                mark = self.style.SUCCESS("ok  ") if c.ok else self.style.ERROR("FAIL")
                self.stdout.write(f"{mark} {c.name:<14} {c.detail}")
        if failed := [c.name for c in checks if not c.ok]:
            raise CommandError("unhealthy: " + ", ".join(failed))
