"""The roster import, end to end: a job, its file, the checked stream of rows, chunked merges.

Effects of `run_job`, in order:
1. open the file and map its header (a bad file fails the job here; nothing is written);
2. stream the rows, checking each in Python (bad rows go to the error report with row number,
   column and reason in the importing user's language);
3. every CHUNK_ROWS good rows: one transaction that creates missing classes, merges the chunk
   (merge.py) and records one `people.roster.imported` audit event; a dry run rolls it back;
4. one `people.import_job.finished` audit event with the totals (not for dry runs).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal, principal_for
from xinqiao.audit.context import AuditContext, current
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.exports import safe_row
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit, Term
from xinqiao.orgs.services import create_unit
from xinqiao.people.signals import notify_students_changed

from ..models import ImportJob, ImportJobStatus
from . import files
from .columns import ColumnMap, MissingColumnsError, map_columns
from .files import IMPORT_DIR
from .merge import ChunkOutcome, Merger
from .reader import BadFileError, Table, open_table
from .rows import CLASS, ROW_NO, NewClass, RowChecker, SchoolResolver, text

logger = logging.getLogger(__name__)

AUDIT_LIST_LIMIT = 200


def chunk_rows() -> int:
    """Rows per committed chunk. SQLite locks the whole database while a chunk is merged, so its
    chunks are smaller: other requests wait about a second, not several."""
    default = 20_000 if connection.vendor == "postgresql" else 5_000
    return int(getattr(settings, "XINQIAO_ROSTER_CHUNK_ROWS", default))


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    processed: int = 0

    def line(self) -> str:
        return (
            f"created={self.created} updated={self.updated} unchanged={self.unchanged} "
            f"rejected={self.rejected}"
        )


def _common_ancestor(units: list[OrgUnit]) -> OrgUnit | None:
    if not units:
        return None
    prefix = os.path.commonprefix([u.path for u in units])  # noqa: RUF071 (string prefixes)
    prefix = prefix[: prefix.rfind(".") + 1] if "." in prefix else ""
    if not prefix:
        return None
    return OrgUnit.objects.filter(path=prefix).first()


def import_areas(principal: Principal | None) -> list[OrgUnit] | None:
    """The subtrees the actor may import into; None for the system (no --as)."""
    if principal is None:
        return None
    return [g.area for g in principal.grants_with(Cap.IMPORT_ROSTER)]


def create_job(
    *,
    actor: Actor,
    file: str,
    original_name: str,
    file_size: int = 0,
    term: Term | None = None,
    school: OrgUnit | None = None,
    dry_run: bool = False,
    language: str | None = None,
) -> ImportJob:
    """Register an import of a file already stored under MEDIA_ROOT. Checks the actor's rights."""
    areas: list[OrgUnit] | None = None
    if actor is not None:
        principal = principal_for(actor)
        principal.require(Cap.IMPORT_ROSTER)
        areas = import_areas(principal)
        if school is not None and not principal.sees_unit(school, Cap.IMPORT_ROSTER):
            raise DomainError(
                _("You may not import students for %(school)s.") % {"school": school.name},
                field="school",
            )
    if school is not None and school.kind != Kind.SCHOOL:
        raise DomainError(_("Choose a school."), field="school")
    if term is None:
        term = Term.objects.current()
        if term is None:
            raise DomainError(_("There is no current term; choose a term."), field="term")
    org_unit = school or _common_ancestor(areas or [])
    return ImportJob.objects.create(
        created_by=actor,
        org_unit=org_unit,
        school=school,
        term=term,
        dry_run=dry_run,
        language=language or settings.LANGUAGE_CODE,
        file=file,
        original_name=original_name[:255],
        file_size=file_size,
    )


def report_header() -> list[str]:
    """行号, 列, 原因 in zh-hans (own context: plain "Row" is a table row elsewhere)."""
    return [
        pgettext("import error report", "Row"),
        pgettext("import error report", "Column"),
        pgettext("import error report", "Reason"),
    ]


class ErrorReport:
    """CSV, UTF-8 with BOM (Excel opens it): 行号, 列, 原因, then the original row. Written in the
    scratch folder, sealed under MEDIA_ROOT/imports/ when closed (it quotes the rejected rows)."""

    def __init__(self, job: ImportJob, headers: tuple[str, ...]) -> None:
        self.relative = f"{IMPORT_DIR}/{job.code}-errors.csv"
        self.headers = headers
        self._fh: Any = None
        self._writer: Any = None
        self._scratch: Path | None = None
        self.written = False

    def add(self, row_no: int, errors: list[tuple[str, str]], cells: list[Any]) -> None:
        if self._writer is None:
            self._scratch = files.scratch_file(".csv")
            self._fh = self._scratch.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow([*report_header(), *self.headers])
        values = [text(c) for c in cells]
        for column, reason in errors:
            self._writer.writerow(safe_row([row_no, column, reason, *values]))

    def close(self) -> None:
        if self._fh is None or self._scratch is None:
            return
        self._fh.close()
        self._fh = None
        try:
            files.seal(self.relative, self._scratch.read_bytes())
            self.written = True
        finally:
            self._scratch.unlink(missing_ok=True)


def _ranges(ids: list[int]) -> list[list[int]]:
    """[1,2,3,7,9,10] → [[1,3],[7,7],[9,10]]: a compact list of touched student ids."""
    out: list[list[int]] = []
    for pk in sorted(ids):
        if out and out[-1][1] == pk - 1:
            out[-1][1] = pk
        else:
            out.append([pk, pk])
    return out


class _Run:
    def __init__(self, job: ImportJob, progress: Callable[[ImportJob], None] | None) -> None:
        self.job = job
        self.actor = job.created_by
        self.principal = principal_for(self.actor) if self.actor is not None else None
        self.progress = progress
        self.result = ImportResult()
        self.chunk_no = 0
        self.lock = threading.Lock()
        self.audit_context = AuditContext()

    def execute(self) -> ImportResult:
        job = self.job
        with files.plaintext_copy(job.file) as plain:
            return self.read(plain)

    def read(self, plain: Path) -> ImportResult:
        job = self.job
        try:
            table = open_table(plain)
        except BadFileError as exc:
            return self.fail(str(exc))
        try:
            try:
                columns = map_columns(table.headers, school_given=job.school_id is not None)
            except MissingColumnsError as exc:
                return self.fail(str(exc))
            return self.stream(table, columns)
        finally:
            table.close()

    def fail(self, message: str) -> ImportResult:
        job = self.job
        job.status, job.error_message, job.finished_at = (
            ImportJobStatus.FAILED,
            message,
            timezone.now(),
        )
        job.save(update_fields=["status", "error_message", "finished_at"])
        raise BadFileError(message)

    def stream(self, table: Table, columns: ColumnMap) -> ImportResult:
        job = self.job
        areas = import_areas(self.principal)
        if areas is None:
            allowed = lambda unit: True  # noqa: E731
            scope_paths = None
        else:
            allowed = lambda unit: any(a.contains(unit) for a in areas)  # noqa: E731
            scope_paths = [a.path for a in areas]
        resolver = SchoolResolver(allowed=allowed, only=job.school)
        checker = RowChecker(columns, schools=resolver, today=timezone.localdate())
        current_term = Term.objects.current()
        term = cast(Term, job.term)  # a roster job always has its term (create_job)
        placement = (
            current_term is None
            or job.term_id == current_term.pk
            or term.start_date >= current_term.start_date
        )
        self.merger = Merger(
            term_id=term.pk,
            present=set(columns.index),
            placement=placement,
            scope_paths=scope_paths,
        )
        self.checker = checker
        self.report = ErrorReport(job, columns.headers)
        job.status, job.started_at, job.rows_total = (
            ImportJobStatus.RUNNING,
            timezone.now(),
            table.total_estimate,
        )
        job.save(update_fields=["status", "started_at", "rows_total"])
        size = chunk_rows()
        chunk: list[list[Any]] = []
        cells_of: dict[int, str] = {}
        check = checker.check
        keep_cells = self.merger.scope_paths is not None
        self.start_workers()
        try:
            for row_no, cells in table.rows:
                self.result.processed += 1
                staged, errors = check(row_no, cells)
                if staged is None:
                    self.result.rejected += 1
                    with self.lock:
                        self.report.add(row_no, errors, cells)
                    continue
                chunk.append(staged)
                if keep_cells:  # for the report, should the merge find the student out of scope
                    cells_of[row_no] = "\x1f".join(map(text, cells))
                if len(chunk) >= size:
                    self.dispatch(chunk, cells_of)
                    chunk, cells_of = [], {}
            if chunk:
                self.dispatch(chunk, cells_of)
        finally:
            self.stop_workers()
            self.report.close()
        r = self.result
        job.rows_total = job.rows_processed = r.processed
        job.created, job.updated, job.unchanged, job.rejected = (
            r.created,
            r.updated,
            r.unchanged,
            r.rejected,
        )
        job.error_report = self.report.relative if self.report.written else ""
        job.status, job.finished_at = ImportJobStatus.SUCCEEDED, timezone.now()
        with transaction.atomic():
            job.save()
            if not job.dry_run:
                record_event(
                    actor=self.actor,
                    action="people.import_job.finished",
                    obj=job,
                    school_id=job.school_id,
                    fields={
                        "job": str(job.code),
                        "file": job.original_name,
                        "term": cast(Term, job.term).code,
                        "rows": r.processed,
                        "created": r.created,
                        "updated": r.updated,
                        "unchanged": r.unchanged,
                        "rejected": r.rejected,
                        "chunks": self.chunk_no,
                    },
                )
                if r.created or r.updated:
                    notify_students_changed([job.school_id] if job.school_id else None)
        return r

    # --- chunks: merged inline, or by worker threads with their own connections ---------------
    def start_workers(self) -> None:
        """On PostgreSQL, outside a transaction and not in a dry run, chunks are merged by worker
        threads (each with its own connection) while this thread keeps reading and checking: the
        database works on one chunk per worker while Python checks the next."""
        self.lock = threading.Lock()
        self.failure: BaseException | None = None
        self.queue: queue.Queue[Any] | None = None
        self.threads: list[threading.Thread] = []
        workers = int(getattr(settings, "XINQIAO_ROSTER_WORKERS", 2))
        if (
            workers < 1
            or self.job.dry_run
            or connection.vendor != "postgresql"
            or connection.in_atomic_block
        ):
            return
        self.queue = queue.Queue(maxsize=1)
        for n in range(workers):
            thread = threading.Thread(target=self._worker, name=f"roster-merge-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _worker(self) -> None:
        token = current.set(self.audit_context)
        try:
            while True:
                item = self.queue.get() if self.queue is not None else None
                if item is None:
                    return
                if self.failure is None:
                    try:
                        self.flush(*item)
                    except BaseException as exc:  # re-raised by the reading thread
                        self.failure = exc
        finally:
            current.reset(token)
            connection.close()

    def stop_workers(self) -> None:
        if self.queue is not None:
            for _thread in self.threads:
                self.queue.put(None)
            for thread in self.threads:
                thread.join()
            self.queue = None
        if self.failure is not None:
            raise self.failure

    def dispatch(self, chunk: list[list[Any]], cells_of: dict[int, str]) -> None:
        self.chunk_no += 1
        if self.queue is None:
            self.flush(chunk, cells_of, self.chunk_no)
            return
        if self.failure is not None:
            raise self.failure
        # Classes are created here, committed before any worker refers to them.
        with transaction.atomic():
            self._create_classes(chunk)
        self.checker.adopt_new_classes()
        self.queue.put((chunk, cells_of, self.chunk_no))

    def flush(self, chunk: list[list[Any]], cells_of: dict[int, str], chunk_no: int) -> None:
        job = self.job
        now = timezone.now()
        with transaction.atomic():
            self._create_classes(chunk)
            outcome = self.merger.merge(chunk, now=now)
            created, updated = len(outcome.created_ids), len(outcome.updated_ids)
            unchanged = len(chunk) - len(outcome.out_of_scope) - created - updated
            if not job.dry_run and (created or updated):
                self._audit(chunk, outcome, chunk_no)
            if job.dry_run:
                transaction.set_rollback(True)
        if job.dry_run:
            self.checker.forget_new_classes()
        else:
            self.checker.adopt_new_classes()
        with self.lock:
            for row_no, school_name in outcome.out_of_scope:
                self.report.add(
                    row_no,
                    [
                        (
                            self.checker.h("student_number"),
                            _(
                                "This student is registered at %(school)s, outside your scope; "
                                "that "
                                "school must transfer the student first."
                            )
                            % {"school": school_name},
                        )
                    ],
                    cells_of[row_no].split("\x1f"),
                )
            r = self.result
            r.created += created
            r.updated += updated
            r.unchanged += unchanged
            r.rejected += len(outcome.out_of_scope)
            ImportJob.objects.filter(pk=job.pk).update(
                rows_processed=r.processed,
                created=r.created,
                updated=r.updated,
                unchanged=r.unchanged,
                rejected=r.rejected,
                rows_total=max(job.rows_total, r.processed),
            )
        if self.progress is not None:
            self.progress(job)

    def _create_classes(self, chunk: list[list[Any]]) -> None:
        """Create the classes this chunk names that do not exist yet (audited by create_unit)."""
        for row in chunk:
            value = row[CLASS]
            if isinstance(value, NewClass):
                if value.id is None:
                    grade = OrgUnit.objects.get(pk=value.grade_id)
                    unit = create_unit(
                        actor=self.actor, parent=grade, kind=Kind.CLASS, name=value.name
                    )
                    value.id = unit.pk
                row[CLASS] = value.id

    def _audit(self, chunk: list[list[Any]], outcome: ChunkOutcome, chunk_no: int) -> None:
        touched = sorted(outcome.numbers.values())
        digest = hashlib.sha256("\n".join(touched).encode()).hexdigest()
        ids = [*outcome.created_ids, *outcome.updated_ids]
        schools = sorted({row[8] for row in chunk})
        record_event(
            actor=self.actor,
            action="people.roster.imported",
            object_type="people.importjob",
            object_id=self.job.pk,
            school_id=schools[0] if len(schools) == 1 else self.job.school_id,
            fields={
                "job": str(self.job.code),
                "chunk": chunk_no,
                "rows": [chunk[0][ROW_NO], chunk[-1][ROW_NO]],
                "term": cast(Term, self.job.term).code,
                "created": len(outcome.created_ids),
                "updated": len(outcome.updated_ids),
                "students": _ranges(ids),
                "student_numbers_sha256": digest,
                "schools": schools[:AUDIT_LIST_LIMIT],
            },
        )


def run_job(job: ImportJob, *, progress: Callable[[ImportJob], None] | None = None) -> ImportResult:
    """Run an import job to the end. Raises BadFileError (job marked failed) for a bad file."""
    run = _Run(job, progress)
    role = run.principal.primary_role if run.principal is not None else "system"
    run.audit_context = AuditContext(ip=current.get().ip, role=role)
    token = current.set(run.audit_context)
    try:
        with translation.override(job.language):
            return run.execute()
    except BadFileError:
        raise
    except Exception as exc:
        logger.exception("roster import %s failed", job.code)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJobStatus.FAILED,
            error_message=_("The import stopped because of an internal error: %(error)s")
            % {"error": exc.__class__.__name__},
            finished_at=timezone.now(),
        )
        raise
    finally:
        current.reset(token)
