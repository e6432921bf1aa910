"""Dry run of the alert rules for one student's answers (nothing stored, nobody notified).

    python manage.py explain_rules --stage junior --answers ASQ="0,0,1,0," \
        --answers PHQ-A="0,0,0,0,0,0,0,0,0,0,,0,1" --json
    {"level": "red", "fired": [{"rule": "red.asq_attempt_with_phq9_item9", "level": "red",
     "reason": "…"}, …]}

Answers as for `manage.py score_instrument` (option codes in item order, blank = unanswered).
Reasons and the report in the site's language (--lang zh-hans|en). Without --rule-set the
shipped default rules; with it a saved version (its code, a UUID), which
must apply to the stage. Bad input prints the problem on stderr and exits with status 2.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from xinqiao.alerts import selectors
from xinqiao.alerts.dry_run import DryRun, dry_run, parse_answers
from xinqiao.core.errors import DomainError
from xinqiao.screening.models import StageBand

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Dry run of the alert rules: the level and rules that fire for one student's answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stage", required=True, choices=StageBand.values)
        parser.add_argument("--rule-set", dest="rule_set", help="code of a saved rule set version")
        parser.add_argument(
            "--answers",
            action="append",
            required=True,
            metavar='CODE="0,1,,3"',
            help="an instrument's answers in item order; repeat for each instrument",
        )
        parser.add_argument("--age", type=int, help="the student's age in years (age rules)")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--lang",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="language of the reasons and the report (default: the site's)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["lang"]):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        answers: dict[str, list[int | None]] = {}
        try:
            for given in options["answers"]:
                code, sep, values = given.partition("=")
                if not sep or not code.strip():
                    raise DomainError(
                        _('Answers are given as CODE="0,1,,3", not %(given)s') % {"given": given}
                    )
                answers[code.strip().upper()] = parse_answers(values, code=code.strip().upper())
            label, ruleset = selectors.ruleset_for_dry_run(
                code=options["rule_set"], stage=options["stage"]
            )
            result = dry_run(ruleset=ruleset, answers=answers, age=options["age"])
        except DomainError as exc:
            raise CommandError(exc.message, returncode=BAD_INPUT) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            self.stdout.write(report(result, label))


def report(result: DryRun, label: str) -> str:
    lines = [
        _("Rules: %(label)s") % {"label": label},
        _("Level: %(level)s") % {"level": level_words(result.level)},
    ]
    for fired in result.fired:
        lines.append(f"  [{level_words(fired.level)}] {fired.rule}: {fired.reason}")
    if not result.fired:
        lines.append("  " + _("No rule fired."))
    for held in result.held:
        lines.append(
            "  "
            + _("Waits for a valid re-sit: %(rule)s (%(level)s): %(reason)s")
            % {"rule": held.rule, "level": level_words(held.level), "reason": held.reason}
        )
    return "\n".join(lines)


def level_words(level: str) -> str:
    words = {"red": _("red"), "orange": _("orange"), "yellow": _("yellow"), "none": _("none")}
    return words.get(level, level)
