"""Background work for people: the roster and registry imports, and deleting old uploads.

Under Celery (REDIS_URL set) `run_import_job` is a task on a worker. In the embedded default
(CELERY_TASK_ALWAYS_EAGER) an eager task would block the upload request, so `start_import_job`
runs the job in a daemon thread of the web process instead; the page polls the job's progress.
Setting XINQIAO_IMPORT_RUNNER to "inline" runs it inside the request (tests, debugging).
"""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, connection, transaction

from .importer import BadFileError, run_job
from .importer.files import purge_expired_files
from .models import ImportJob

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_import_job(job_id: int) -> str:
    job = ImportJob.objects.select_related("term", "school", "created_by").get(pk=job_id)
    try:
        if job.kind != "roster":  # a registry import (people/registry/)
            from .registry.runner import run_job as run_registry_job

            return run_registry_job(job).line()
        return run_job(job).line()
    except BadFileError as exc:
        return f"bad file: {exc}"


@shared_task
def purge_import_files() -> int:
    """Delete rosters and error reports of jobs finished more than UPLOAD_RETENTION_DAYS ago."""
    return purge_expired_files()


def _in_thread(job_id: int) -> None:
    close_old_connections()
    try:
        run_import_job(job_id)
    except Exception:  # already recorded on the job
        logger.exception("import job %s failed", job_id)
    finally:
        connection.close()


def runner() -> str:
    configured = getattr(settings, "XINQIAO_IMPORT_RUNNER", "")
    if configured:
        return configured
    return "thread" if settings.CELERY_TASK_ALWAYS_EAGER else "celery"


def start_import_job(job: ImportJob) -> None:
    """Start the job once the transaction that created it has committed."""
    mode = runner()
    if mode == "inline":
        _run_inline(job.pk)
    elif mode == "thread":
        transaction.on_commit(
            lambda: threading.Thread(
                target=_in_thread, args=(job.pk,), name=f"import-{job.code}", daemon=True
            ).start()
        )
    else:
        transaction.on_commit(lambda: run_import_job.delay(job.pk))


def _run_inline(job_id: int) -> None:
    try:
        run_import_job(job_id)
    except Exception:
        logger.exception("roster import job %s failed", job_id)
