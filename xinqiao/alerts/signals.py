"""Hooks for apps above alerts.

`alert_confirmed` is sent after the transaction that verified an alert as confirmed or changed
(not dismissed) commits. Arguments: `alert` (Alert), `level` (the verified level), `actor`.
The cases app (issue 5, "a confirmed alert opens a case") connects to it.
"""

from typing import Any

from django.db import transaction
from django.dispatch import Signal

alert_confirmed = Signal()


def send_alert_confirmed_on_commit(*, alert: Any, level: str, actor: Any) -> None:
    transaction.on_commit(
        lambda: alert_confirmed.send(sender=type(alert), alert=alert, level=level, actor=actor)
    )
