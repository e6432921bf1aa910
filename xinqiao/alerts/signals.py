"""Hooks for apps above alerts.

`alert_confirmed` is sent inside the transaction that verified an alert as confirmed or changed
(not dismissed), so the case it opens or raises commits with the verification or not at all.
Arguments: `alert` (Alert), `level` (the verified level), `actor`. The cases app connects to it.
"""

from typing import Any

from django.dispatch import Signal

from xinqiao.core.types import Actor

alert_confirmed = Signal()


def send_alert_confirmed(*, alert: Any, level: str, actor: Actor) -> None:
    alert_confirmed.send(sender=type(alert), alert=alert, level=level, actor=actor)
