from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.core.errors import DomainError
from xinqiao.instruments.definition import UnknownInstrumentError
from xinqiao.instruments.schema import DefinitionError
from xinqiao.instruments.services import import_instrument_texts


class Command(BaseCommand):
    help = "Import licensed item texts (CSV item_id,text[,text_en]) for a scoring-only instrument."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # "--version" names the instrument version here, not Django's own version
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("file")
        parser.add_argument("--version", dest="instrument_version")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row = import_instrument_texts(
                actor=None,
                code=options["code"],
                file=options["file"],
                version=options["instrument_version"],
            )
        except (DefinitionError, DomainError, UnknownInstrumentError, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(f"{row.code} {row.version}: item texts imported")
