"""Running a registry import job: create it (checking the uploader's capability), then stream the
file, check each row, write good rows in chunks, report bad ones. See the package docstring."""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from xinqiao.access.scope import principal_for
from xinqiao.audit.context import AuditContext, current
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.tabular.reader import BadFileError, open_table
from xinqiao.core.types import Actor
from xinqiao.orgs.models import OrgUnit

from ..importer.service import ErrorReport, ImportResult, _common_ancestor
from ..models import ImportJob, ImportJobStatus
from .base import (
    Counts,
    ImportContext,
    MissingColumnsError,
    Registry,
    Row,
    RowError,
    get_registry,
)

logger = logging.getLogger(__name__)


def chunk_rows() -> int:
    default = 10_000 if connection.vendor == "postgresql" else 5_000
    return int(getattr(settings, "XINQIAO_REGISTRY_CHUNK_ROWS", default))


def writer_threads() -> int:
    """How many threads write chunks while the reading thread parses the next ones (PostgreSQL
    only; 0: every chunk is written inline). One keeps the chunks in file order, as a later
    chunk may match a record an earlier one created."""
    return int(getattr(settings, "XINQIAO_REGISTRY_WRITERS", 1))


def import_areas(actor: Actor, cap: str) -> list[OrgUnit] | None:
    """The subtrees `actor` may import into with `cap`; None for the system (no actor)."""
    if actor is None:
        return None
    return [g.area for g in principal_for(actor).grants_with(cap)]


def create_job(
    *,
    actor: Actor,
    kind: str,
    file: str,
    original_name: str,
    file_size: int = 0,
    dry_run: bool = False,
    language: str | None = None,
) -> ImportJob:
    """Register an import of a file already stored (files.store_upload) for registry `kind`."""
    registry = get_registry(kind)
    if registry is None:
        raise DomainError(_("Unknown import."))
    areas: list[OrgUnit] = []
    if actor is not None:
        principal_for(actor).require(registry.cap)
        areas = import_areas(actor, registry.cap) or []
    unit = areas[0] if len(areas) == 1 else _common_ancestor(areas)
    return ImportJob.objects.create(
        kind=kind,
        created_by=actor,
        org_unit=unit,
        school=unit if unit is not None and unit.kind == "school" else None,
        dry_run=dry_run,
        language=language or settings.LANGUAGE_CODE,
        file=file,
        original_name=original_name[:255],
        file_size=file_size,
    )


class _Run:
    def __init__(self, job: ImportJob, registry: Registry) -> None:
        self.job = job
        self.registry = registry
        self.result = ImportResult()
        self.chunk_no = 0
        self.lock = threading.Lock()  # the result and the report, shared with the writer
        self.queue: queue.Queue[Any] | None = None
        self.writer: threading.Thread | None = None
        self.failure: BaseException | None = None

    def fail(self, message: str) -> ImportResult:
        job = self.job
        job.status, job.error_message, job.finished_at = (
            ImportJobStatus.FAILED,
            message,
            timezone.now(),
        )
        job.save(update_fields=["status", "error_message", "finished_at"])
        raise BadFileError(message)

    def execute(self, progress: Callable[[ImportJob], None] | None) -> ImportResult:
        from ..importer import files

        self.progress = progress
        with files.plaintext_copy(self.job.file) as plain:
            try:
                table = open_table(plain)
            except BadFileError as exc:
                return self.fail(str(exc))
            try:
                try:
                    index = self.registry.map_columns(table.headers)
                except MissingColumnsError as exc:
                    return self.fail(str(exc))
                return self.stream(table, index)
            finally:
                table.close()

    def stream(self, table: Any, index: dict[str, int]) -> ImportResult:
        with _heap_frozen():
            return self._stream(table, index)

    def _stream(self, table: Any, index: dict[str, int]) -> ImportResult:
        job, registry = self.job, self.registry
        ctx = ImportContext(
            job=job,
            actor=job.created_by,
            areas=import_areas(job.created_by, registry.cap),
            today=timezone.localdate(),
        )
        self.ctx = ctx
        registry.prepare(ctx)
        headers = tuple("" if h is None else str(h) for h in table.headers)
        self.report = ErrorReport(job, headers)
        job.status, job.started_at, job.rows_total = (
            ImportJobStatus.RUNNING,
            timezone.now(),
            table.total_estimate,
        )
        job.save(update_fields=["status", "started_at", "rows_total"])
        size = chunk_rows()
        seen: dict[Any, int] = {}
        chunk: list[Row] = []
        parse_row, check, key_of = registry.row_parser(index), registry.check, registry.key
        result, lock = self.result, self.lock
        self.start_writer()
        try:
            for number, cells in table.rows:
                result.processed += 1
                row, errors = parse_row(number, cells)
                if not errors:
                    try:
                        check(row, ctx)
                    except RowError as exc:
                        errors.append((registry.header_of(exc.column), exc.message))
                if not errors:
                    key = key_of(row)
                    if key is not None:
                        first = seen.get(key)
                        if first is not None:
                            errors.append(
                                ("", _("The same entry as row %(row)d.") % {"row": first})
                            )
                        else:
                            seen[key] = number
                if errors:
                    with lock:
                        result.rejected += 1
                        self.report.add(number, errors, cells)
                    continue
                chunk.append(row)
                if len(chunk) >= size:
                    self.dispatch(chunk)
                    chunk = []
            if chunk:
                self.dispatch(chunk)
        finally:
            try:
                self.stop_writer()
            finally:
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
                    actor=job.created_by,
                    action="people.import_job.finished",
                    obj=job,
                    school_id=job.school_id,
                    fields={
                        "job": str(job.code),
                        "kind": job.kind,
                        "file": job.original_name,
                        "rows": r.processed,
                        "created": r.created,
                        "updated": r.updated,
                        "unchanged": r.unchanged,
                        "rejected": r.rejected,
                        "chunks": self.chunk_no,
                    },
                )
        return r

    # --- chunks: written inline, or by a writer thread with its own connection ----------------
    def start_writer(self) -> None:
        """On PostgreSQL, outside a transaction and not in a dry run (as the roster import), the
        chunks are written by a thread with its own connection while this thread reads and
        checks the next rows: the database's time overlaps Python's. Each chunk is still one
        transaction; a chunk that fails is rolled back whole, the writer writes no later chunk
        and the reading thread stops the job with the writer's exception."""
        if (
            writer_threads() < 1
            or self.job.dry_run
            or connection.vendor != "postgresql"
            or connection.in_atomic_block
        ):
            return
        self.queue = queue.Queue(maxsize=1)  # parsed at most one chunk ahead of the writer
        self.writer = threading.Thread(
            target=self._write_chunks,
            args=(current.get(), translation.get_language()),
            name=f"registry-writer-{self.job.pk}",
            daemon=True,
        )
        self.writer.start()

    def _write_chunks(self, audit: AuditContext, language: str | None) -> None:
        token = current.set(audit)
        try:
            with translation.override(language):
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

    def stop_writer(self) -> None:
        """Wait for the chunks handed over; raise the writer's failure, if any."""
        if self.queue is not None and self.writer is not None:
            self.queue.put(None)
            self.writer.join()
            self.queue = self.writer = None
        if self.failure is not None:
            raise self.failure

    def dispatch(self, chunk: list[Row]) -> None:
        self.chunk_no += 1
        if self.queue is None:
            self.flush(chunk, self.chunk_no)
            return
        if self.failure is not None:
            raise self.failure
        self.queue.put((chunk, self.chunk_no))

    def flush(self, chunk: list[Row], chunk_no: int) -> None:
        job = self.job
        with transaction.atomic():
            counts: Counts = self.registry.write(chunk, self.ctx)
            if not job.dry_run and (counts.created or counts.updated):
                record_event(
                    actor=job.created_by,
                    action="people.registry.imported",
                    object_type="people.importjob",
                    object_id=job.pk,
                    school_id=job.school_id,
                    fields={
                        "job": str(job.code),
                        "kind": job.kind,
                        "chunk": chunk_no,
                        "rows": [chunk[0].number, chunk[-1].number],
                        "created": counts.created,
                        "updated": counts.updated,
                    },
                )
            if job.dry_run:
                transaction.set_rollback(True)
        r = self.result
        with self.lock:
            for row, column, reason in counts.errors:
                self.report.add(row.number, [(self.registry.header_of(column), reason)], row.cells)
            for row, column, reason in counts.warnings:
                warning = _("Warning: %(reason)s") % {"reason": reason}
                self.report.add(row.number, [(self.registry.header_of(column), warning)], row.cells)
            r.created += counts.created
            r.updated += counts.updated
            r.unchanged += counts.unchanged
            r.rejected += len(counts.errors)
            figures = {
                "rows_processed": r.processed,
                "created": r.created,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "rejected": r.rejected,
                "rows_total": max(job.rows_total, r.processed),
            }
        ImportJob.objects.filter(pk=job.pk).update(**figures)
        if self.progress is not None:
            self.progress(job)


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Fewer garbage-collector passes while the rows stream: the objects that exist before the
    rows (the whole application) are left out of the full passes (each walked them all: a
    fifth of a large import's time), and the youngest generation is collected every 20,000
    allocations rather than 700 (a job's rows are short-lived dicts and lists without cycles).
    Both are handed back afterwards; nothing is freed or kept differently, only walked less."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def run_job(job: ImportJob, *, progress: Callable[[ImportJob], None] | None = None) -> ImportResult:
    """Run a registry import job to the end. Raises BadFileError (job marked failed) for a file
    that cannot be read or lacks a required column; nothing is written then."""
    registry = get_registry(job.kind)
    if registry is None:
        raise BadFileError(f"unknown registry {job.kind!r}")
    run = _Run(job, registry)
    role = principal_for(job.created_by).primary_role if job.created_by else "system"
    token = current.set(AuditContext(ip=current.get().ip, role=role))
    try:
        with translation.override(job.language):
            return run.execute(progress)
    except BadFileError:
        raise
    except Exception as exc:
        logger.exception("registry import %s failed", job.code)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJobStatus.FAILED,
            error_message=_("The import stopped because of an internal error: %(error)s")
            % {"error": exc.__class__.__name__},
            finished_at=timezone.now(),
        )
        raise
    finally:
        current.reset(token)
