from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.audit.anchor import verify_and_anchor


class Command(BaseCommand):
    help = (
        "Verify the audit log's keyed hash chain (reporting the first broken link), check that it "
        "still holds the last anchor (AUDIT_ANCHOR_PATH), then append the verified head as the "
        "next anchor. Exits non-zero on any failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-anchor",
            action="store_true",
            help="only check; do not append the verified head to the anchor file",
        )
        parser.add_argument(
            "--since-anchor",
            action="store_true",
            help="walk only the events from the last anchor on (what the periodic check does)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_and_anchor(write=not options["no_anchor"], full=not options["since_anchor"])
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(result.message)
