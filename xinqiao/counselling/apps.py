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
