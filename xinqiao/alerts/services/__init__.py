"""Writes of the alerts app, one module per concern: raising (one alert), hand_ins (alerts from
screening hand-ins, single and batched), concerns, verification (acknowledge, verify, guardian
informed), escalation, rulesets and notify (alerts as the reference of a notification; the store is
xinqiao.notifications). Every function runs in one
transaction and writes its audit event in it. The public functions are re-exported here, so
callers write `from xinqiao.alerts import services; services.raise_alert(...)`. Who holds a role
at a unit (the people alerts go to) is `xinqiao.access.holders`."""

from .concerns import file_concern, file_mentor_concern, file_monitoring_tip
from .escalation import run_escalations
from .hand_ins import (
    evaluate_submission,
    facts_of,
    raise_all_pending_alerts,
    raise_pending_alerts,
)
from .notify import notify
from .raising import raise_alert
from .rulesets import save_ruleset
from .verification import acknowledge_alert, mark_guardian_informed, verify_alert

__all__ = [
    "acknowledge_alert",
    "evaluate_submission",
    "facts_of",
    "file_concern",
    "file_mentor_concern",
    "file_monitoring_tip",
    "mark_guardian_informed",
    "notify",
    "raise_alert",
    "raise_all_pending_alerts",
    "raise_pending_alerts",
    "run_escalations",
    "save_ruleset",
    "verify_alert",
]
