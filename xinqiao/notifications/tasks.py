"""Background work of the notifications app.

Production: celery beat sends `xinqiao.notifications.tasks.dispatch_outbox` every 30 s
(config.settings.CELERY_BEAT_SCHEDULE) and services.notify asks for it within a second of a
commit (xinqiao.core.queue.kick_soon). The embedded default runs it from the in-process scheduler
(alerts.apps.EmbeddedScheduler). Idempotent and safe to run concurrently.
"""

from celery import shared_task


@shared_task(name="xinqiao.notifications.tasks.dispatch_outbox")
def dispatch_outbox() -> int:
    """Deliver pending notifications (outbox → inbox and email); the number delivered."""
    from .services import dispatch_outbox as run

    return run()
