from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "xinqiao.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import navigation
        from xinqiao.core.navigation import NavItem, register

        register(
            NavItem(
                "audit:event-list",
                _("Audit log"),
                Cap.VIEW_AUDIT_LOG,
                "journal-text",
                _("Search and export who did what, and when."),
                group=navigation.ADMIN,
            )
        )
