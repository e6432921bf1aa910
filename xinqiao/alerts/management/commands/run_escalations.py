from typing import Any

from django.core.management.base import BaseCommand

from xinqiao.alerts.services import dispatch_outbox, run_escalations


class Command(BaseCommand):
    help = "Escalate alerts past their deadlines and deliver pending notifications (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        escalated = run_escalations()
        delivered = dispatch_outbox()
        self.stdout.write(f"escalated={escalated} delivered={delivered}")
