"""Placeholder (issue 5): opening, raising, stepping down, closing and reopening cases."""

from typing import Any


def on_alert_confirmed(sender: Any, *, alert: Any, level: str, actor: Any, **kwargs: Any) -> None:
    return None
