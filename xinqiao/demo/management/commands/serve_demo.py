"""`make run` in one process: migrate, load the demo city when the database is empty, serve."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, seed the demo city if the database is empty, and run the development server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, addrport: str, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", if_empty=True)
        self.stdout.write(f"Serving Xinqiao at http://{addrport}/  (Ctrl+C to stop)")
        call_command("runserver", addrport, use_reloader=False)
