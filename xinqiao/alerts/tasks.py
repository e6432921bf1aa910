"""Scheduled work (celery beat in production; the embedded default runs it in-process, see
apps.EmbeddedScheduler)."""

from celery import shared_task


@shared_task(name="xinqiao.alerts.tasks.run_escalations")
def run_escalations() -> int:
    from .services import run_escalations as run

    return run()


@shared_task(name="xinqiao.alerts.tasks.dispatch_outbox")
def dispatch_outbox() -> int:
    from .services import dispatch_outbox as run

    return run()
