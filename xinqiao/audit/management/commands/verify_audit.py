from typing import Any

from django.core.management.base import BaseCommand, CommandError

from xinqiao.audit.services import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and report the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        ok, message = verify_chain()
        if not ok:
            raise CommandError(f"audit chain broken: {message}")
        self.stdout.write(message)
