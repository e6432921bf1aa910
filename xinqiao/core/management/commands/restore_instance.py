"""python manage.py restore_instance DIR

Restore a backup made by backup_instance into a new instance: same keys, migrated to the backup's
migration state, otherwise empty. Refuses (changing nothing) a backup made under other keys, an
altered one, or a database that holds data. Then verifies the audit chain and reports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.audit.anchor import verify_and_anchor
from xinqiao.core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore a backup_instance folder into this new, empty instance; verify the audit chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder")

    def handle(self, *args: Any, folder: str, **options: Any) -> None:
        try:
            report = restore_backup(Path(folder))
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        rows = sum(report.tables.values())
        self.stdout.write(f"restored {len(report.tables)} tables, {rows} rows")
        self.stdout.write(f"restored {report.media_files} files")
        if report.anchors_restored:
            self.stdout.write("restored the audit anchors")
        check = verify_and_anchor(write=True, full=True)
        if not check.ok:
            raise CommandError(f"restored, but the audit check failed: {check.message}")
        self.stdout.write(self.style.SUCCESS(f"audit chain verified: {check.message}"))
