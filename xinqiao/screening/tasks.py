"""Periodic screening work: keep open campaigns' assignments in step with the roster; reminders."""

from __future__ import annotations

from celery import shared_task


@shared_task
def sync_open_campaigns() -> int:
    """Assign students who joined an open campaign's scope (run every few minutes by beat)."""
    from .services import sync_open_campaigns as sync

    return sync()


@shared_task
def send_progress_reminders() -> int:
    """Remind head teachers of classes behind schedule (in-app; email where configured)."""
    from .services import send_progress_reminders as send

    return send()
