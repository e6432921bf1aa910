from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    """Partners of the schools: department accounts, invited experts, hospital areas, the
    psychiatrist's plan advice and the de-identified referral summary (docs/partners.md)."""

    name = "xinqiao.partners"
    label = "partners"
    verbose_name = _("Partners")

    def ready(self) -> None:
        from xinqiao.access.roles import Role
        from xinqiao.access.scope import register_student_scope
        from xinqiao.cases.panels import register_panel
        from xinqiao.cases.selectors.referrals import register_area_hospitals
        from xinqiao.core.navigation import register

        from . import nav, panels, selectors

        register_student_scope(Role.EXPERT, selectors.expert_students_q)
        register_area_hospitals(selectors.area_hospitals_for_case)
        register_panel(panels.case_panel)  # the case page shows the advice and the experts
        for item in nav.NAV_ITEMS:
            register(item)
