from typing import Any

from django.core.management.base import BaseCommand

from xinqiao.alerts.services import raise_all_pending_alerts, run_escalations
from xinqiao.notifications.services import dispatch_outbox


class Command(BaseCommand):
    help = (
        "Raise the alerts of queued hand-ins, escalate alerts past their deadlines and deliver "
        "pending notifications (idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        raised = raise_all_pending_alerts()
        escalated = run_escalations()
        delivered = dispatch_outbox()
        self.stdout.write(f"raised={raised} escalated={escalated} delivered={delivered}")
