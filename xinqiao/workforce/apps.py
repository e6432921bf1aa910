from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkforceConfig(AppConfig):
    """师资: training hours (R13), district research activities (R17), expert teams, skills
    competitions and name-teacher studios (R14), the expert committee and expert pool."""

    name = "xinqiao.workforce"
    label = "workforce"
    verbose_name = _("Workforce")

    def ready(self) -> None:
        from xinqiao.core.navigation import register

        from . import importer, navigation, registry_imports  # noqa: F401 (imports register)

        for item in navigation.NAV_ITEMS:
            register(item)

        # A pool expert's invitation is accepted at the staff invitation's page.
        from xinqiao.access.staffing import register_invitation_kind

        from .services import pending_expert_invitation

        register_invitation_kind(pending_expert_invitation)
