from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CounsellingConfig(AppConfig):
    name = "xinqiao.counselling"
    label = "counselling"
    verbose_name = _("Counselling service")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import navigation
        from xinqiao.core.navigation import NavItem, register

        register(
            NavItem(
                "counselling:home",
                _("Counselling"),
                Cap.VIEW_COUNSELLING,
                "calendar-check",
                _("Duty rosters, who is on duty now, counsellors' availability and appointments."),
                group=navigation.COUNSELLING,
            )
        )
        from xinqiao.people.profile import register_section

        from .views import archive_section

        register(
            NavItem(
                "counselling:sessions",
                _("Counselling sessions"),
                Cap.COUNSEL,
                "journal-text",
                _("Session records with their confidential process notes, and supervision."),
                group=navigation.COUNSELLING,
            )
        )
        register_section(archive_section)  # the student's archive: sessions at the reader's tier
