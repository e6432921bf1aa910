from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.core.errors import DomainError
from xinqiao.instruments.schema import DefinitionError
from xinqiao.instruments.services import approve_instrument, import_instrument


class Command(BaseCommand):
    help = "Validate and store a custom instrument definition (YAML or JSON) as a new version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--approve", action="store_true", help="approve at once (the deployer vouches for it)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row = import_instrument(actor=None, file=options["file"])
            if options["approve"]:
                row = approve_instrument(actor=None, code=row.code, version=row.version)
        except (DefinitionError, DomainError, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(f"{row.code} {row.version}: {row.get_status_display()}")
