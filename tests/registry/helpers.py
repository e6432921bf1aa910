"""Running a registry import from a real file, and reading its error report (the tests of the
registries added in issue 14: rooms, crisis teams, research activities, experts, committee
members, school groups)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from xinqiao.people.importer import files
from xinqiao.people.registry import create_job, run_job, store_upload


def run(kind: str, path: Path, *, actor: Any = None, dry_run: bool = False) -> tuple[Any, Any]:
    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(
        actor=actor, kind=kind, file=relative, original_name=path.name, dry_run=dry_run
    )
    result = run_job(job)
    job.refresh_from_db()
    return job, result


def report(job: Any) -> list[list[str]]:
    if not job.error_report:
        return []
    return list(csv.reader(io.StringIO(files.read(job.error_report).decode("utf-8-sig"))))


def rejected_rows(job: Any) -> dict[str, list[str]]:
    """Report lines by row number (as the user sees it in the file)."""
    return {line[0]: line for line in report(job)[1:]}
