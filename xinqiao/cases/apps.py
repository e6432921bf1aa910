from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "xinqiao.cases"
    label = "cases"
    verbose_name = _("High-care cases")

    def ready(self) -> None:
        from xinqiao.access.roles import Role
        from xinqiao.access.scope import register_student_scope
        from xinqiao.alerts.hooks import register_alert_link, register_owner_resolver
        from xinqiao.alerts.signals import alert_confirmed
        from xinqiao.core.home import register_home_panel
        from xinqiao.core.navigation import register, register_badge
        from xinqiao.people.profile import register_section
        from xinqiao.people.signals import students_changed

        from .panels import register_panel
        from .selectors.boards import archive_section
        from .selectors.common import case_link_for_alert
        from .selectors.referrals import psychiatrist_students_q
        from .services.lifecycle import case_owners_for_students, on_alert_confirmed
        from .services.transfers import on_students_changed
        from .views import boards, care, home, lifecycle, referrals, schooling

        alert_confirmed.connect(on_alert_confirmed, dispatch_uid="cases-open-on-confirmed")
        register_owner_resolver(case_owners_for_students)  # new alerts go to the case owner
        register_alert_link(case_link_for_alert)  # the alert page links to the case it opened
        students_changed.connect(on_students_changed, dispatch_uid="cases-student-moved")
        register_student_scope(Role.PSYCHIATRIST, psychiatrist_students_q)
        register_section(archive_section)
        for module in (care, referrals, schooling):
            register_panel(module.panel)
        for module in (lifecycle, boards, referrals, schooling):
            for item in module.NAV_ITEMS:
                register(item)
        for spec in home.HOME_PANELS:
            register_home_panel(spec)
        for name, count in home.BADGES.items():
            register_badge(name, count)
