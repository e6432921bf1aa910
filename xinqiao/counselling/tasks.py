"""Periodic counselling work (celery beat in production, xinqiao.core.scheduler in the embedded
default; config.settings.CELERY_BEAT_SCHEDULE): reminders a day before each holding appointment
(`counselling-send-reminders`, hourly) and the waitlist's lapsed offers and finished weeks
(`counselling-expire-waitlist`, every 10 minutes). Both idempotent and safe to run concurrently."""

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
