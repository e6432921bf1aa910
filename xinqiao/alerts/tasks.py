"""Background work of the alerts app.

Production: celery beat sends these by name (config.settings.CELERY_BEAT_SCHEDULE:
`alerts-run-escalations` every 60 s, `alerts-raise-pending` every 30 s) and a worker runs them;
the services also ask for the second within a second of a change (xinqiao.core.queue.kick_soon).
Notifications are delivered by xinqiao.notifications.tasks.dispatch_outbox. The embedded default
has no beat: xinqiao.core.scheduler runs the same schedule in-process, and
`manage.py run_escalations` runs escalation and the notification dispatcher once. Every task
is idempotent and safe to run concurrently (overlapping beats, several workers, a retried
message), so acks_late redelivery is harmless.
"""

from celery import shared_task


@shared_task(name="xinqiao.alerts.tasks.run_escalations")
def run_escalations() -> int:
    """Escalate every alert whose deadline has passed; the number escalated."""
    from .services import run_escalations as run

    return run()


@shared_task(name="xinqiao.alerts.tasks.raise_pending_alerts")
def raise_pending_alerts() -> int:
    """Raise the alerts of every queued hand-in, a batch per transaction; the number of hand-ins."""
    from .services import raise_all_pending_alerts

    return raise_all_pending_alerts()
