"""Periodic counselling work (celery beat in production, xinqiao.core.scheduler in the embedded
default; config.settings.CELERY_BEAT_SCHEDULE): reminders a day before each holding appointment
(`counselling-send-reminders`, hourly), the waitlist's lapsed offers and finished weeks
(`counselling-expire-waitlist`, every 10 minutes) and the escalation of students' urgent requests
for help nobody acknowledged in time (`counselling-help-escalations`, every 60 s). Each is
idempotent and safe to run concurrently."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="xinqiao.counselling.tasks.send_reminders")
def send_reminders() -> int:
    """Remind the counsellor and the booker of each appointment starting within a day, once."""
    from .services import send_reminders as send

    return send()


@shared_task(name="xinqiao.counselling.tasks.expire_waitlist")
def expire_waitlist() -> int:
    """Lapse offers past their time (offering the time to the next entry) and expire entries
    whose week is over."""
    from .services import expire_waitlist as expire

    return expire()


@shared_task(name="xinqiao.counselling.tasks.run_help_escalations")
def run_help_escalations() -> int:
    from .help_services import run_help_escalations as run

    return run()
