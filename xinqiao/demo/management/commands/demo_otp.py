"""`manage.py demo_otp`: the demo city's current two-factor code (development only)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from xinqiao.demo.two_factor import (
    DemoSecretRefused,
    demo_codes,
    demo_secret_grouped,
    refuse_unless_allowed,
)


class Command(BaseCommand):
    help = "Print the current 6-digit code of the demo accounts' shared authenticator secret."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            refuse_unless_allowed()
        except DemoSecretRefused as exc:
            raise CommandError(str(exc)) from exc
        now, following, left = demo_codes()
        self.stdout.write(f"Demo two-factor code: {now}  (valid {left}s more; next: {following})")
        self.stdout.write(f"Demo secret for an authenticator app: {demo_secret_grouped()}")
