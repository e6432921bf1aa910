"""Score one response from the command line: prints the result as one JSON object.

    python manage.py score_instrument PHQ-A --answers "0,1,2,,3,0,0,1,0" --json
Bad input (unknown instrument, wrong number of answers, a code outside the options, not a number)
prints the problem on stderr and exits with status 2.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.instruments.definition import UnknownInstrumentError
from xinqiao.instruments.engine import AnswerError, score_response
from xinqiao.instruments.schema import DefinitionError
from xinqiao.instruments.selectors import definition_for

BAD_INPUT = 2


def _parse(text: str, what: str, cast: type) -> list[Any]:
    values: list[Any] = []
    for n, part in enumerate(text.split(","), start=1):
        part = part.strip()
        if not part:
            values.append(None)
            continue
        try:
            values.append(cast(part))
        except ValueError:
            raise CommandError(
                f"{what} {n}: {part!r} is not a number", returncode=BAD_INPUT
            ) from None
    return values


class Command(BaseCommand):
    help = "Score one response of an instrument and print scores, bands, critical items and flags."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # "--version" names the instrument version here, not Django's own version
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="instrument code, e.g. PHQ-A")
        parser.add_argument(
            "--answers", required=True, help='option codes in item order, e.g. "0,1,,3"'
        )
        parser.add_argument("--times", help="seconds spent on each item, in item order")
        parser.add_argument("--sex", help="F or M, for norm tables")
        parser.add_argument("--grade", help="grade (or age) for norm tables")
        parser.add_argument("--version", dest="instrument_version", help="instrument version")
        parser.add_argument("--cohort-median", type=float, help="cohort median total seconds")
        parser.add_argument("--json", action="store_true", help="print JSON (the default output)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            defn = definition_for(options["code"], options["instrument_version"])
        except (UnknownInstrumentError, DefinitionError) as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from exc
        answers = _parse(options["answers"], "answer", int)
        times = _parse(options["times"], "time", float) if options["times"] else None
        try:
            result = score_response(
                defn,
                answers,
                times,
                sex=options["sex"],
                grade=options["grade"],
                cohort_median_seconds=options["cohort_median"],
            )
        except AnswerError as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from exc
        self.stdout.write(json.dumps(result.to_json_dict(), ensure_ascii=False))
