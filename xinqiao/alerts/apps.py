from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # models cannot be imported before the app registry is ready
    from xinqiao.access.scope import Principal

log = logging.getLogger(__name__)


class AlertsConfig(AppConfig):
    name = "xinqiao.alerts"
    label = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from django.core.signals import request_started

        from xinqiao.access.roles import Cap
        from xinqiao.core import health, navigation
        from xinqiao.core.navigation import NavItem, register
        from xinqiao.people.profile import register_section
        from xinqiao.screening.hooks import register_submission_hook, register_void_hook

        from .selectors import oldest_pending_hand_in
        from .services import evaluate_submission
        from .services.hand_ins import note_voided_hand_in

        health.register(
            "hand_ins",
            lambda: health.oldest_age("hand_ins", oldest_pending_hand_in(), what="hand-in"),
        )

        register_section(_profile_section)
        register_submission_hook(evaluate_submission)
        register_void_hook(note_voided_hand_in)
        request_started.connect(_on_request_started, dispatch_uid="alerts-request-started")
        register(
            NavItem(
                "alerts:worklist",
                _("Alerts"),
                Cap.VIEW_ALERTS,
                "exclamation-triangle",
                _("New alerts by deadline: acknowledge, interview and verify."),
                group=navigation.MONITORING,
            )
        )
        register(
            NavItem(
                "alerts:concern-create",
                _("Report a concern"),
                Cap.FILE_CONCERN,
                "chat-heart",
                _("Tell the psychology teacher about a student you are worried about."),
                group=navigation.MONITORING,
                hidden_for=Cap.VIEW_OWN_CHILDREN,  # a parent reports from their child's page
            )
        )
        register(
            NavItem(
                "alerts:ruleset-list",
                _("Alert rules"),
                Cap.EDIT_RULESETS,
                "sliders",
                _("The rules that turn screening results into preliminary alert levels."),
                group=navigation.ADMIN,
            )
        )


def _on_request_started(sender: Any, **kwargs: Any) -> None:
    """Keep the rule-set cache warm outside the hand-in (so a submission costs no extra query)."""
    from . import rules

    try:
        rules.cache.refresh()
    except Exception:  # database not migrated yet, or unavailable: the submission will retry
        log.debug("alerts: rule-set cache not refreshed", exc_info=True)


def _profile_section(principal: Principal, student: Any) -> Any:
    """Alerts on the student profile: levels and status (T2); evidence stays on the alert page."""
    from xinqiao.access.roles import Cap, Tier
    from xinqiao.people.profile import ProfileSection

    from .models import Alert

    if not principal.can(Cap.VIEW_ALERTS) or principal.tier_for(student) < Tier.T2:
        return None
    if principal.can(Cap.VIEW_CASES):
        return None  # the high-care archive (cases app) lists every alert with its case: once
    alerts = list(Alert.objects.filter(student=student).order_by("-created_at")[:50])
    return ProfileSection(
        template="alerts/_student_alerts.html",
        context={"student_alerts": alerts},
        fields_read=("alerts",),
    )
