from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "xinqiao.screening"
    label = "screening"
    verbose_name = _("Screening")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core.navigation import NavItem, register

        register(
            NavItem(
                "screening:campaign-list",
                _("Screening campaigns"),
                Cap.VIEW_SCREENING_PROGRESS,
                "clipboard-check",
                _("Plan screening campaigns, follow progress and read results."),
            )
        )
        register(
            NavItem(
                "screening:my-classes",
                _("My class progress"),
                Cap.VIEW_CLASS_PROGRESS,
                "list-check",
                _("Who in my class has not yet taken the screening questionnaire."),
            )
        )
