"""Periodic work of the audit app (config.settings.CELERY_BEAT_SCHEDULE,
`audit-verify-and-anchor`: celery beat in production, xinqiao.core.scheduler embedded)."""

import logging

from celery import shared_task

log = logging.getLogger("xinqiao.audit.anchor")


class AuditCheckFailed(Exception):
    pass


@shared_task(name="xinqiao.audit.tasks.verify_and_anchor")
def verify_and_anchor() -> str:
    """Summarise the denied requests of past minutes, check the chain since the last anchor and
    against it, and append the head as the next anchor. A failure is logged (ERROR) and raised."""
    from .anchor import verify_and_anchor as run
    from .denied import summarise_closed_windows

    summarise_closed_windows()
    result = run(write=True, full=False)
    if not result.ok:
        log.error("audit check failed: %s", result.message)
        raise AuditCheckFailed(result.message)
    return result.message
