from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmergencyConfig(AppConfig):
    name = "xinqiao.emergency"
    label = "emergency"
    verbose_name = _("Crisis teams, emergency plans and helplines")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import helplines, navigation
        from xinqiao.core.navigation import NavItem, register
        from xinqiao.screening.hooks import register_campaign_notes

        from . import campaigns, hotlines, importer  # noqa: F401 (the import registers itself)

        helplines.register_source(hotlines.lines_for)
        register_campaign_notes(campaigns.campaign_notes)
        register(
            NavItem(
                "emergency:home",
                _("Crisis teams and emergency plans"),
                Cap.VIEW_EMERGENCY,
                "shield-exclamation",
                _("The city's and districts' crisis-intervention teams, emergency plans, drills."),
                group=navigation.CASES,
                order=90,
            )
        )
        register(
            NavItem(
                "emergency:hotline-list",
                _("Helpline directory"),
                Cap.EDIT_HOTLINES,
                "telephone",
                _("The 24-hour helplines shown to students, parents and on every case page."),
                group=navigation.ADMIN,
            )
        )
