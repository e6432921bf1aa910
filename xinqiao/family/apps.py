from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FamilyConfig(AppConfig):
    """Guardians' own pages (家校): their children, consent, school messages, guidance."""

    name = "xinqiao.family"
    label = "family"
    verbose_name = _("Family and school")

    def ready(self) -> None:
        from xinqiao.core.home import register_home_panel
        from xinqiao.core.navigation import register

        from . import home

        for item in home.NAV_ITEMS:
            register(item)
        for spec in home.HOME_PANELS:
            register_home_panel(spec)
