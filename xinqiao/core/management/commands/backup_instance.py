"""python manage.py backup_instance --out DIR

An encrypted backup of the database, the uploaded files and the audit anchors into the new folder
DIR (xinqiao/core/backup.py; docs/operations.md). The keys are not in it: keep them apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinqiao.core.backup import BackupError, make_backup


class Command(BaseCommand):
    help = "Write an encrypted backup of the database and MEDIA_ROOT into a new folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="a new (or empty) folder")

    def handle(self, *args: Any, out: str, **options: Any) -> None:
        try:
            report = make_backup(Path(out))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(report.tables.values())
        self.stdout.write(
            f"{len(report.tables)} tables, {rows} rows, {report.media_files} files → {out}"
        )
        self.stdout.write(
            self.style.SUCCESS("backup written; keep the keys apart from it (docs/operations.md)")
        )
