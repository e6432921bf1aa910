from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "xinqiao.facilities"
    label = "facilities"
    verbose_name = _("Counselling rooms")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import navigation
        from xinqiao.core.navigation import NavItem, register

        from . import importer  # noqa: F401 (the rooms import registers itself)

        register(
            NavItem(
                "facilities:room-list",
                _("Counselling rooms"),
                Cap.VIEW_FACILITIES,
                "door-open",
                _("Counselling rooms of schools and stations, their checklist and status."),
                group=navigation.INDICATORS,
            )
        )
