"""python manage.py import_roster FILE [--term CODE] [--dry-run] [--school CODE] [--as USERNAME]

Without --as the command acts as the system: every school may be targeted (an operator with shell
access already has the database). With --as the named user's role assignments bound the schools
rows may target, exactly as in the web import. The last line is always
`created=N updated=M unchanged=U rejected=K`; a bad file exits with status 1 and changes nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Kind, OrgUnit, Term
from xinqiao.people.importer import BadFileError, create_job, files, run_job


class Command(BaseCommand):
    help = "Import a student roster (CSV or XLSX from the student-status system)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--term", help="term code, e.g. 2026-2027-1 (default: current term)")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--school", help="limit to one school (学校标识码 or the school's code/UUID)"
        )
        parser.add_argument(
            "--as", dest="as_user", help="username whose scope bounds the import (default: system)"
        )
        parser.add_argument("--language", default=None, help="language of the error report")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["file"])
        if not source.is_file():
            raise CommandError(f"No such file: {source}")
        actor = None
        if options["as_user"]:
            actor = get_user_model().objects.filter(username=options["as_user"]).first()
            if actor is None or not actor.is_active:
                raise CommandError(f"No active user {options['as_user']!r}")
        term = None
        if options["term"]:
            term = Term.objects.filter(code=options["term"]).first()
            if term is None:
                raise CommandError(f"No term with code {options['term']!r}")
        school = None
        if options["school"]:
            value = options["school"]
            q = Q(school_code=value)
            try:
                q |= Q(code=uuid.UUID(value))
            except ValueError:
                pass
            school = OrgUnit.objects.filter(q, kind=Kind.SCHOOL).first()
            if school is None:
                raise CommandError(f"No school {value!r}")
        # Keep a sealed copy under MEDIA_ROOT/imports/ like an upload, so the job record stays
        # complete (deleted after the retention period like any upload).
        relative, _size = files.store_upload([source.read_bytes()], source.name, prefix="cli-")
        try:
            job = create_job(
                actor=actor,
                file=relative,
                original_name=source.name,
                file_size=source.stat().st_size,
                term=term,
                school=school,
                dry_run=options["dry_run"],
                language=options["language"],
            )
        except PermissionDenied as exc:
            files.delete(relative)
            raise CommandError(f"{options['as_user']} may not import rosters") from exc
        except DomainError as exc:
            files.delete(relative)
            raise CommandError(exc.message) from exc
        try:
            result = run_job(job)
        except BadFileError as exc:
            self.stderr.write(f"Bad file: {exc}")
            self.stdout.write("created=0 updated=0 unchanged=0 rejected=0")
            raise SystemExit(1) from exc
        if job.error_report:
            # Stored encrypted: downloaded from the job's page (imports/<code>/).
            self.stderr.write(f"Error report: on the import page of job {job.code}")
        if job.dry_run:
            self.stderr.write("Dry run: nothing was written.")
        self.stdout.write(result.line())
